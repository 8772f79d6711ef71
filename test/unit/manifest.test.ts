import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { SLASH_COMMAND } from '../../app/slack/ids';
import { BOT_SCOPES } from '../../app/slack/scopes';

const MANIFEST_PATH = join(__dirname, '..', '..', 'manifest.yml');

/**
 * Slack's required keys and limits, for the parts of the app-manifest schema
 * Kanshi relies on; the rest passes through.
 */
const RequiredKeys = z.looseObject({
  _metadata: z.looseObject({ major_version: z.number().int(), minor_version: z.number().int().optional() }).optional(),
  display_information: z.looseObject({
    name: z.string().min(1).max(35),
    description: z.string().max(140).optional(),
  }),
  features: z.looseObject({
    bot_user: z.looseObject({ display_name: z.string().min(1).max(80), always_online: z.boolean().optional() }),
  }),
});

/** A lenient reading of the same file, so each test below fails only for what it checks. */
const Manifest = z.looseObject({
  _metadata: z.looseObject({ major_version: z.unknown() }).optional(),
  features: z
    .looseObject({
      slash_commands: z.array(z.looseObject({ command: z.unknown(), url: z.unknown() })).optional(),
    })
    .optional(),
  oauth_config: z.looseObject({ scopes: z.looseObject({ bot: z.array(z.string()).optional() }).optional() }).optional(),
  settings: z
    .looseObject({
      interactivity: z.looseObject({ is_enabled: z.unknown(), request_url: z.unknown() }).optional(),
    })
    .optional(),
});

function rawManifest(): unknown {
  return parse(readFileSync(MANIFEST_PATH, 'utf8'));
}

function manifest(): z.infer<typeof Manifest> {
  const result = Manifest.safeParse(rawManifest());
  if (!result.success) throw new Error(`manifest.yml is malformed:\n${z.prettifyError(result.error)}`);
  return result.data;
}

const botScopes = (): string[] => manifest().oauth_config?.scopes?.bot ?? [];

describe('the Slack app manifest (manifest.yml)', () => {
  it('has the required keys, including a display name of at most 35 characters and a bot display name', () => {
    const result = RequiredKeys.safeParse(rawManifest());
    expect(result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
  });

  it('uses version 1 of the manifest format', () => {
    expect(manifest()._metadata?.major_version).toBe(1);
  });

  it('declares every scope in BOT_SCOPES as a bot scope', () => {
    const declared = new Set(botScopes());
    expect(BOT_SCOPES.filter((s) => !declared.has(s))).toEqual([]);
  });

  it('declares no bot scope outside BOT_SCOPES, and none twice', () => {
    const known: ReadonlySet<string> = new Set(BOT_SCOPES);
    const scopes = botScopes();
    expect(scopes.filter((s) => !known.has(s))).toEqual([]);
    expect(scopes.filter((s, i) => scopes.indexOf(s) !== i)).toEqual([]);
  });

  it('registers the /alert slash command with a request url whose path is /slack/events', () => {
    const commands = manifest().features?.slash_commands ?? [];
    const alert = commands.filter((c) => c.command === SLASH_COMMAND);
    expect(alert).toHaveLength(1);
    const url = alert[0]?.url;
    expect(typeof url === 'string' ? new URL(url).pathname : url).toBe('/slack/events');
  });

  it('enables interactivity with a request url ending in /slack/events', () => {
    const interactivity = manifest().settings?.interactivity;
    expect(interactivity?.is_enabled).toBe(true);
    expect(String(interactivity?.request_url)).toMatch(/^https:\/\/.*\/slack\/events$/);
  });
});
