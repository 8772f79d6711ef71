import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readRunbooks } from '../../app/adapters/fs/runbook-files';
import { parseRunbook, patternMatches, RunbookError, RunbookLibrary } from '../../app/domain/runbooks';
import { chunkLines, markdownToMrkdwn } from '../../app/slack/blocks/markdown';
import { runbookModal } from '../../app/slack/blocks/runbook-modal';
import { findingTypes } from '../support/fixtures';

const DIR = resolve(__dirname, '..', '..', 'runbooks');
const { runbooks, fallback, errors } = readRunbooks(DIR);
const library = new RunbookLibrary(runbooks, fallback);

const RUNBOOK = `---
title: Example family
applies_to:
  - Recon:EC2/*
severity: medium
owner: security-engineering
updated: 2026-11-22
---

Family intro with **bold** and a [doc](https://docs.aws.amazon.com/guardduty/).

## Recon:EC2/Portscan

### What it means
An instance scanned ports. Watch for \`<ip>\` & friends.
`;

describe('runbook files', () => {
  it('all parse, and a default runbook exists', () => {
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(fallback?.file).toBe('default.md');
  });

  it('give every GuardDuty finding type guidance of its own', () => {
    const kinds = findingTypes().map((t) => library.lookup(t.type)?.kind);
    expect(kinds.filter((k) => k === 'default' || k === undefined)).toEqual([]);
    expect(kinds).toHaveLength(223);
  });

  it('render every finding type within Slack modal limits', () => {
    for (const { type } of findingTypes()) {
      const g = library.lookup(type);
      if (!g) throw new Error(`no guidance for ${type}`);
      const view = runbookModal(type, g, 'https://github.example/kanshi/runbooks') as {
        title: { text: string };
        blocks: Array<{ type: string; text?: { text: string }; elements?: Array<{ text: string }> }>;
      };
      expect(view.title.text.length).toBeLessThanOrEqual(24);
      expect(view.blocks.length).toBeLessThanOrEqual(100);
      for (const b of view.blocks) {
        if (b.type === 'header') expect(b.text?.text.length).toBeLessThanOrEqual(150);
        if (b.type === 'section') expect(b.text?.text.length).toBeLessThanOrEqual(3000);
        for (const e of b.elements ?? []) expect(e.text.length).toBeLessThanOrEqual(2000);
      }
    }
  });
});

describe('parsing and lookup', () => {
  it('reads front matter, the family intro and one section per type, and hashes the file', () => {
    const rb = parseRunbook('recon.md', RUNBOOK);
    expect(rb.meta).toEqual({
      title: 'Example family',
      applies_to: ['Recon:EC2/*'],
      severity: 'medium',
      owner: 'security-engineering',
      updated: '2026-11-22',
    });
    expect(rb.intro).toContain('Family intro');
    expect(rb.sections.map((s) => s.type)).toEqual(['Recon:EC2/Portscan']);
    expect(rb.hash).toBe(createHash('sha256').update(RUNBOOK).digest('hex'));
  });

  it('names the field at fault in invalid front matter', () => {
    expect(() => parseRunbook('bad.md', RUNBOOK.replace('severity: medium', 'severity: urgent'))).toThrow(RunbookError);
    expect(() => parseRunbook('bad.md', RUNBOOK.replace('severity: medium', 'severity: urgent'))).toThrow(/severity/);
    expect(() => parseRunbook('bad.md', 'no front matter')).toThrow(/front matter/);
  });

  it('prefers the exact section, then the most specific wildcard, then the default', () => {
    const exact = parseRunbook('recon.md', RUNBOOK);
    const wide = parseRunbook(
      'ec2.md',
      RUNBOOK.replace('Recon:EC2/*', '"*:EC2/*"').replace('## Recon:EC2/Portscan', '## Other:EC2/X'),
    );
    const def = parseRunbook('default.md', RUNBOOK.replace('Recon:EC2/*', '"*:*/*"').replace(/## [\s\S]*$/, ''));
    const lib = new RunbookLibrary([wide, exact], def);
    expect(lib.lookup('Recon:EC2/Portscan')).toEqual(expect.objectContaining({ kind: 'specific', runbook: exact }));
    expect(lib.lookup('Recon:EC2/PortProbeUnprotectedPort')).toEqual(
      expect.objectContaining({ kind: 'family', runbook: exact }),
    );
    expect(lib.lookup('Backdoor:EC2/Spambot')).toEqual(expect.objectContaining({ kind: 'family', runbook: wide }));
    expect(lib.lookup('Recon:IAMUser/TorIPCaller')).toEqual(expect.objectContaining({ kind: 'default', runbook: def }));
  });

  it.each([
    ['Recon:EC2/*', 'Recon:EC2/Portscan', true],
    ['Recon:EC2/*', 'Recon:EC2', false],
    ['*:EC2/*', 'Trojan:EC2/DNSDataExfiltration', true],
    ['Backdoor:EC2/C&CActivity.B', 'Backdoor:EC2/C&CActivity.B', true],
    ['Backdoor:EC2/C&CActivity.B', 'Backdoor:EC2/C&CActivity.B!DNS', false],
    ['Trojan:EC2/*', 'Trojan:EC2/DGADomainRequest.C!DNS', true],
  ])('pattern %s matches %s: %s', (pattern, type, expected) => {
    expect(patternMatches(pattern, type)).toBe(expected);
  });
});

describe('Markdown to Slack mrkdwn', () => {
  it('turns headings bold, bullets into •, links into <url|text>, and escapes the rest', () => {
    const lines = markdownToMrkdwn(
      '## Title\n- item with **bold** & `<code>`\n[AWS](https://docs.aws.amazon.com/x)\n```sh\naws s3 ls <bucket>\n```',
    );
    expect(lines).toEqual([
      '*Title*',
      '• item with *bold* &amp; `&lt;code&gt;`',
      '<https://docs.aws.amazon.com/x|AWS>',
      '```',
      'aws s3 ls &lt;bucket&gt;',
      '```',
    ]);
  });

  it('cuts long text at line boundaries and keeps code fences balanced in every chunk', () => {
    const lines = ['intro', '```', ...Array.from({ length: 200 }, (_, i) => `echo line ${i}`), '```', 'after'];
    const chunks = chunkLines(lines, 500);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(500);
      expect((c.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(chunks.join('\n')).toContain('echo line 199');
  });

  it('reads the repository runbooks as they are', () => {
    const text = readFileSync(join(DIR, 'default.md'), 'utf8');
    expect(markdownToMrkdwn(text).some((l) => l.includes('&lt;'))).toBe(true);
  });
});
