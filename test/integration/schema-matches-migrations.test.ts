/**
 * Proves the hand-written migrations (prisma/migrations/*\/migration.sql)
 * produce exactly the database prisma/schema.prisma describes, and that our
 * migrator (app/adapters/db/migrate.ts) keeps Prisma-compatible bookkeeping.
 *
 * The schema side comes from Prisma's own parser (getDMMF, offline via wasm);
 * the database side from pg_catalog of a freshly migrated database.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type GetDMMFError, getDMMF } from '@prisma/get-dmmf';
import { Pool } from 'pg';
import { MigrationError, migrate, pendingMigrations } from '../../app/adapters/db/migrate';
import { createEmptyDatabase, createTestDb, type TestDb } from '../support/test-db';

const ROOT = resolve(__dirname, '..', '..');
const SCHEMA_PATH = join(ROOT, 'prisma', 'schema.prisma');
const MIGRATIONS_DIR = join(ROOT, 'prisma', 'migrations');

/**
 * Indexes present in the migrations that schema.prisma cannot express (e.g.
 * partial indexes), as `table.index_name`. Each needs a comment saying why.
 */
const UNDECLARED_INDEXES_ALLOWED: readonly string[] = [
  // Partial index (Prisma cannot declare one): finds alerts whose GuardDuty
  // archive state still has to be synced, without scanning every alert.
  'alert.alert_gd_sync_idx',
  // Partial indexes for storm control (recent carded alerts per channel), digest
  // and silence listings: only the few alerts they concern are indexed.
  'alert.alert_channel_card_recent_idx',
  'alert.alert_digest_idx',
  'alert.alert_silence_idx',
  // Partial index: the IAM-fold lookup's, over IAM (access key) alerts only.
  'alert.alert_fold_idx',
  // Partial unique index: at most one open digest per channel and finding type.
  'storm_digest.storm_digest_open_key',
  // Partial indexes of the job claim, over pending jobs only.
  'job.job_lane_pending_idx',
  'job.job_unlaned_pending_idx',
];

// ---------------------------------------------------------------------------
// The schema, as Prisma reads it
// ---------------------------------------------------------------------------

type Document = Exclude<ReturnType<typeof getDMMF>, GetDMMFError>;
type Datamodel = Document['datamodel'];
type Model = Datamodel['models'][number];
type Field = Model['fields'][number];
type DmmfIndex = Datamodel['indexes'][number];

function isDmmfError(d: Document | GetDMMFError): d is GetDMMFError {
  return 'reason' in d && 'error' in d;
}

function loadDatamodel(schema: string): Datamodel {
  const dmmf = getDMMF({ datamodel: schema });
  if (isDmmfError(dmmf)) throw new Error(`schema.prisma does not parse: ${dmmf.reason}: ${dmmf.error.message}`);
  return dmmf.datamodel;
}

const datamodel = loadDatamodel(readFileSync(SCHEMA_PATH, 'utf8'));

const tableOf = (m: Model): string => m.dbName ?? m.name;
const columnOf = (f: Field): string => f.dbName ?? f.name;
/** Fields stored as columns (relation fields are not). */
const columnFields = (m: Model): Field[] => m.fields.filter((f) => f.kind === 'scalar' || f.kind === 'enum');

function fieldColumn(m: Model, fieldName: string): string {
  const f = m.fields.find((x) => x.name === fieldName);
  if (!f) throw new Error(`model ${m.name} has no field ${fieldName}`);
  return columnOf(f);
}

/** How format_type() would print an identifier (quoted unless plain lower case). */
function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** The PostgreSQL type (as format_type() prints it) Prisma uses for a field. */
function expectedType(f: Field): string {
  let base: string;
  if (f.kind === 'enum') {
    const e = datamodel.enums.find((x) => x.name === f.type);
    base = quoteIdent(e?.dbName ?? f.type);
  } else {
    base = scalarType(f.type, f.nativeType ?? null);
  }
  return f.isList ? `${base}[]` : base;
}

function scalarType(type: string, native: readonly [string, readonly string[]] | null): string {
  if (!native) {
    const defaults: Record<string, string> = {
      String: 'text',
      Int: 'integer',
      BigInt: 'bigint',
      Float: 'double precision',
      Decimal: 'numeric(65,30)',
      Boolean: 'boolean',
      DateTime: 'timestamp(3) without time zone',
      Json: 'jsonb',
      Bytes: 'bytea',
    };
    return defaults[type] ?? `<unsupported Prisma type ${type}>`;
  }
  const [name, args] = native;
  const p = args.length > 0 ? `(${args.join(',')})` : '';
  const natives: Record<string, string> = {
    Text: 'text',
    VarChar: `character varying${p}`,
    Char: `character${p}`,
    Uuid: 'uuid',
    Xml: 'xml',
    Inet: 'inet',
    Citext: 'citext',
    Bit: `bit${p}`,
    VarBit: `bit varying${p}`,
    SmallInt: 'smallint',
    Integer: 'integer',
    Oid: 'oid',
    BigInt: 'bigint',
    Real: 'real',
    DoublePrecision: 'double precision',
    Decimal: `numeric${p}`,
    Money: 'money',
    Timestamp: `timestamp${p} without time zone`,
    Timestamptz: `timestamp${p} with time zone`,
    Date: 'date',
    Time: `time${p} without time zone`,
    Timetz: `time${p} with time zone`,
    Json: 'json',
    JsonB: 'jsonb',
    ByteA: 'bytea',
    Boolean: 'boolean',
  };
  return natives[name] ?? `<unsupported native type @db.${name}${p}>`;
}

type ExpectedDefault =
  | { kind: 'none' }
  | { kind: 'sequence' }
  | { kind: 'any'; describe: string }
  | { kind: 'value'; describe: string; matches: (actual: string) => boolean };

const normalizeSql = (s: string): string => s.replace(/\s+/g, ' ').trim().toLowerCase();

/** A literal default as pg_get_expr prints it ('x'::text, 1, '-1'::integer, true), unquoted and uncast. */
function unliteral(expr: string): string {
  let s = expr.trim();
  for (;;) {
    const m = /^(.*)::[\w\s".[\]()]+$/s.exec(s);
    if (!m?.[1]) break;
    s = m[1].trim();
  }
  while (s.startsWith('(') && s.endsWith(')')) s = s.slice(1, -1).trim();
  if (s.startsWith("'") && s.endsWith("'")) s = s.slice(1, -1).replace(/''/g, "'");
  return s;
}

function expectedDefault(f: Field): ExpectedDefault {
  if (!f.hasDefaultValue || f.default === undefined) return { kind: 'none' };
  const d = f.default;
  if (Array.isArray(d)) return { kind: 'any', describe: `@default(${JSON.stringify(d)})` };
  if (typeof d === 'object' && d !== null && 'name' in d) {
    switch (d.name) {
      case 'autoincrement':
      case 'sequence':
        return { kind: 'sequence' };
      case 'now':
        return {
          kind: 'value',
          describe: 'CURRENT_TIMESTAMP (@default(now()))',
          matches: (a) => ['current_timestamp', 'now()'].includes(normalizeSql(a)),
        };
      case 'dbgenerated': {
        const expr = d.args[0];
        if (expr === undefined) return { kind: 'any', describe: '@default(dbgenerated())' };
        return {
          kind: 'value',
          describe: `${expr} (@default(dbgenerated(...)))`,
          matches: (a) => normalizeSql(a) === normalizeSql(String(expr)),
        };
      }
      case 'uuid':
      case 'cuid':
      case 'nanoid':
      case 'ulid':
        // Generated by Prisma Client, not by the database.
        return { kind: 'none' };
      default:
        return {
          kind: 'value',
          describe: `<unsupported default ${d.name}()>`,
          matches: () => false,
        };
    }
  }
  const literal = d as string | number | boolean;
  const numeric = ['Int', 'BigInt', 'Float', 'Decimal'].includes(f.type);
  return {
    kind: 'value',
    describe: JSON.stringify(literal),
    matches: (a) => {
      const v = unliteral(a);
      return numeric ? Number(v) === Number(literal) : v === String(literal);
    },
  };
}

type IndexKind = 'primary' | 'unique' | 'normal';

interface ExpectedIndex {
  kind: IndexKind;
  /** How the schema declares it, for messages. */
  label: string;
  columns: string[];
  descending: boolean[];
  /** Only when the schema names it (map: "...") */
  name?: string;
  method: string;
}

function indexLabel(m: Model, idx: DmmfIndex): string {
  const fields = idx.fields.map((f) => (f.sortOrder === 'desc' ? `${f.name}(sort: Desc)` : f.name));
  const map = idx.dbName ? `, map: "${idx.dbName}"` : '';
  if (idx.isDefinedOnField) {
    return `${m.name}.${fields.join(', ')} @${idx.type === 'id' ? 'id' : 'unique'}${map ? `(${map.slice(2)})` : ''}`;
  }
  const attr = idx.type === 'id' ? '@@id' : idx.type === 'unique' ? '@@unique' : '@@index';
  return `${m.name} ${attr}([${fields.join(', ')}]${map})`;
}

function expectedIndexes(m: Model): ExpectedIndex[] {
  const out: ExpectedIndex[] = [];
  const kindOf: Record<string, IndexKind> = { id: 'primary', unique: 'unique', normal: 'normal' };
  for (const idx of datamodel.indexes ?? []) {
    if (idx.model !== m.name) continue;
    const kind = kindOf[idx.type];
    if (!kind) throw new Error(`index type ${idx.type} is not supported on PostgreSQL (${indexLabel(m, idx)})`);
    out.push({
      kind,
      label: indexLabel(m, idx),
      columns: idx.fields.map((f) => fieldColumn(m, f.name)),
      descending: idx.fields.map((f) => f.sortOrder === 'desc'),
      ...(idx.dbName ? { name: idx.dbName } : {}),
      method: (idx.algorithm ?? 'BTree').toLowerCase(),
    });
  }
  // The model-level lists, in case this DMMF version leaves something out of `indexes`.
  const add = (kind: IndexKind, fields: readonly string[], label: string): void => {
    const columns = fields.map((f) => fieldColumn(m, f));
    const key = columns.join(',');
    if (out.some((e) => e.kind === kind && e.columns.join(',') === key)) return;
    out.push({ kind, label, columns, descending: columns.map(() => false), method: 'btree' });
  };
  const idFields = m.primaryKey?.fields ?? m.fields.filter((f) => f.isId).map((f) => f.name);
  if (idFields.length > 0) add('primary', idFields, `${m.name} @id/@@id([${idFields.join(', ')}])`);
  for (const fields of m.uniqueFields) add('unique', fields, `${m.name} @@unique([${fields.join(', ')}])`);
  for (const u of m.uniqueIndexes) add('unique', u.fields, `${m.name} @@unique([${u.fields.join(', ')}])`);
  for (const f of m.fields.filter((x) => x.isUnique)) add('unique', [f.name], `${m.name}.${f.name} @unique`);
  return out;
}

// ---------------------------------------------------------------------------
// The database, as pg_catalog describes it
// ---------------------------------------------------------------------------

interface DbRelation {
  name: string;
  kind: string;
}

interface DbColumn {
  table: string;
  column: string;
  type: string;
  not_null: boolean;
  default: string | null;
  identity: string;
  generated: string;
}

interface DbIndex {
  table: string;
  name: string;
  unique: boolean;
  primary: boolean;
  partial: boolean;
  has_include: boolean;
  method: string;
  columns: string[];
  descending: boolean[];
}

interface Snapshot {
  relations: DbRelation[];
  columns: DbColumn[];
  indexes: DbIndex[];
}

async function snapshot(pool: Pool): Promise<Snapshot> {
  const relations = await pool.query<DbRelation>(`
    SELECT c.relname AS name,
           CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
                          WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' END AS kind
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
     ORDER BY c.relname`);
  const columns = await pool.query<DbColumn>(`
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
           a.attidentity::text AS identity, a.attgenerated::text AS generated
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY c.relname, a.attnum`);
  const indexes = await pool.query<DbIndex>(`
    SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
           ix.indpred IS NOT NULL AS partial, ix.indnatts > ix.indnkeyatts AS has_include, am.amname AS method,
           ARRAY(SELECT COALESCE(a.attname::text, '<expression>')
                   FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                   LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                  WHERE k.ord <= ix.indnkeyatts
                  ORDER BY k.ord)::text[] AS columns,
           ARRAY(SELECT COALESCE(pg_index_column_has_property(ix.indexrelid, k.ord, 'desc'), false)
                   FROM generate_series(1, ix.indnkeyatts::int) AS k(ord)
                  ORDER BY k.ord)::bool[] AS descending
      FROM pg_index ix
      JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      JOIN pg_am am ON am.oid = i.relam
     WHERE n.nspname = 'public'
     ORDER BY t.relname, i.relname`);
  return { relations: relations.rows, columns: columns.rows, indexes: indexes.rows };
}

// ---------------------------------------------------------------------------
// The comparison: each check returns what differs, one sentence per difference
// ---------------------------------------------------------------------------

function checkTableExists(m: Model, db: Snapshot): string[] {
  const rel = db.relations.find((r) => r.name === tableOf(m));
  if (!rel) return [`model ${m.name}: table "${tableOf(m)}" does not exist in schema public`];
  if (rel.kind !== 'table') return [`model ${m.name}: "${tableOf(m)}" is a ${rel.kind}, not a table`];
  return [];
}

function checkDeclaredColumns(m: Model, db: Snapshot): string[] {
  const table = tableOf(m);
  const problems: string[] = [];
  for (const f of columnFields(m)) {
    const where = `${table}.${columnOf(f)} (${m.name}.${f.name})`;
    const col = db.columns.find((c) => c.table === table && c.column === columnOf(f));
    if (!col) {
      problems.push(`${where}: column does not exist`);
      continue;
    }
    const type = expectedType(f);
    if (col.type !== type) problems.push(`${where}: type is ${col.type}, schema says ${type}`);
    if (col.not_null !== f.isRequired) {
      problems.push(
        `${where}: column is ${col.not_null ? 'NOT NULL' : 'nullable'}, schema says ${f.isRequired ? 'required' : 'optional'}`,
      );
    }
    if (col.identity !== '') problems.push(`${where}: column is an identity column, which Prisma would not create`);
    if (col.generated !== '') problems.push(`${where}: column is a generated column, which Prisma would not create`);
    const want = expectedDefault(f);
    const got = col.default;
    switch (want.kind) {
      case 'none':
        if (got !== null) problems.push(`${where}: column has default ${got}, schema declares none`);
        break;
      case 'sequence':
        if (got === null || !/^nextval\('[^']+'::regclass\)$/.test(got)) {
          problems.push(`${where}: default is ${got ?? 'missing'}, schema says autoincrement() (a sequence)`);
        }
        break;
      case 'any':
        if (got === null) problems.push(`${where}: default is missing, schema says ${want.describe}`);
        break;
      case 'value':
        if (got === null || !want.matches(got)) {
          problems.push(`${where}: default is ${got ?? 'missing'}, schema says ${want.describe}`);
        }
        break;
    }
  }
  return problems;
}

function checkUndeclaredColumns(m: Model, db: Snapshot): string[] {
  const table = tableOf(m);
  const declared = new Set(columnFields(m).map(columnOf));
  return db.columns
    .filter((c) => c.table === table && !declared.has(c.column))
    .map((c) => `${table}.${c.column}: column (${c.type}) is not declared in model ${m.name}`);
}

function checkUndeclaredTables(models: readonly Model[], db: Snapshot): string[] {
  const expected = new Set([...models.map(tableOf), '_prisma_migrations']);
  return db.relations
    .filter((r) => !expected.has(r.name))
    .map((r) => `public.${r.name}: ${r.kind} is not declared in schema.prisma`);
}

function describeDbIndex(i: DbIndex): string {
  const kind = i.primary ? 'primary key' : i.unique ? 'unique index' : 'index';
  const cols = i.columns.map((c, n) => (i.descending[n] ? `${c} DESC` : c)).join(', ');
  const extra = [
    i.method !== 'btree' ? `USING ${i.method}` : '',
    i.partial ? 'partial' : '',
    i.has_include ? 'INCLUDE' : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${kind} "${i.name}" (${cols})${extra ? ` [${extra}]` : ''}`;
}

function describeColumns(e: ExpectedIndex): string {
  return e.columns.map((c, n) => (e.descending[n] ? `${c} DESC` : c)).join(', ');
}

/** Ways an index differs from the one expected, ignoring its name. */
function shapeDifferences(e: ExpectedIndex, i: DbIndex): string[] {
  const diffs: string[] = [];
  const kindOk = e.kind === 'primary' ? i.primary : e.kind === 'unique' ? i.unique && !i.primary : !i.unique;
  if (!kindOk) diffs.push(`is a ${i.primary ? 'primary key' : i.unique ? 'unique index' : 'non-unique index'}`);
  if (i.columns.join(',') !== e.columns.join(',')) diffs.push(`covers (${i.columns.join(', ')})`);
  else if (i.descending.join(',') !== e.descending.join(',')) {
    diffs.push(`has sort order (${i.columns.map((c, n) => `${c} ${i.descending[n] ? 'DESC' : 'ASC'}`).join(', ')})`);
  }
  if (i.method !== e.method) diffs.push(`uses ${i.method}, not ${e.method}`);
  if (i.partial) diffs.push('is partial (has a WHERE clause)');
  if (i.has_include) diffs.push('has INCLUDE columns');
  return diffs;
}

const KIND_WORDS: Record<IndexKind, string> = { primary: 'primary key', unique: 'unique index', normal: 'index' };

/** Checks the declared indexes of one kind; returns the problems and the database indexes that matched. */
function checkIndexes(m: Model, kind: IndexKind, db: Snapshot): { problems: string[]; matched: DbIndex[] } {
  const table = tableOf(m);
  const onTable = db.indexes.filter((i) => i.table === table);
  const problems: string[] = [];
  const matched: DbIndex[] = [];
  const expected = expectedIndexes(m).filter((e) => e.kind === kind);
  const existing = (): string =>
    onTable.length > 0 ? `; the table has: ${onTable.map(describeDbIndex).join('; ')}` : '; the table has no indexes';
  for (const e of expected) {
    const want = `${KIND_WORDS[kind]} over (${describeColumns(e)})`;
    if (e.name) {
      const named = onTable.find((i) => i.name === e.name);
      if (!named) {
        const sameShape = onTable.find((i) => shapeDifferences(e, i).length === 0);
        problems.push(
          sameShape
            ? `${table}: ${e.label}: the ${want} is named "${sameShape.name}", schema says "${e.name}"`
            : `${table}: ${e.label}: no ${want} named "${e.name}"${existing()}`,
        );
        continue;
      }
      matched.push(named);
      const diffs = shapeDifferences(e, named);
      if (diffs.length > 0) {
        const article = /^[aeiou]/.test(want) ? 'an' : 'a';
        problems.push(`${table}: ${e.label}: "${e.name}" should be ${article} ${want} but ${diffs.join(', ')}`);
      }
      continue;
    }
    const found = onTable.find((i) => shapeDifferences(e, i).length === 0);
    if (found) matched.push(found);
    else problems.push(`${table}: ${e.label}: no ${want}${existing()}`);
  }
  if (kind === 'primary' && expected.length === 0) {
    const pk = onTable.find((i) => i.primary);
    if (pk) problems.push(`${table}: has ${describeDbIndex(pk)} but model ${m.name} declares no @id`);
  }
  return { problems, matched };
}

function checkUndeclaredIndexes(models: readonly Model[], db: Snapshot): string[] {
  const problems: string[] = [];
  for (const m of models) {
    const table = tableOf(m);
    const matched = new Set(
      (['primary', 'unique', 'normal'] as const).flatMap((k) => checkIndexes(m, k, db).matched.map((i) => i.name)),
    );
    for (const i of db.indexes.filter((x) => x.table === table)) {
      if (matched.has(i.name) || UNDECLARED_INDEXES_ALLOWED.includes(`${table}.${i.name}`)) continue;
      problems.push(`${table}: ${describeDbIndex(i)} is not declared in model ${m.name}`);
    }
  }
  return problems;
}

function allDifferences(models: readonly Model[], db: Snapshot): string[] {
  return [
    ...checkUndeclaredTables(models, db),
    ...checkUndeclaredIndexes(models, db),
    ...models.flatMap((m) => [
      ...checkTableExists(m, db),
      ...checkDeclaredColumns(m, db),
      ...checkUndeclaredColumns(m, db),
      ...(['primary', 'unique', 'normal'] as const).flatMap((k) => checkIndexes(m, k, db).problems),
    ]),
  ];
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

const models = datamodel.models;

describe('the migrated database matches prisma/schema.prisma', () => {
  let db: TestDb;
  let snap: Snapshot;

  beforeAll(async () => {
    db = await createTestDb(1);
    snap = await snapshot(db.pool);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('declares at least one model, so the checks below check something', () => {
    expect(models.length).toBeGreaterThan(0);
  });

  it('has no table in schema public other than the models’ tables and _prisma_migrations', () => {
    expect(checkUndeclaredTables(models, snap)).toEqual([]);
  });

  it('has no index the schema does not declare', () => {
    expect(checkUndeclaredIndexes(models, snap)).toEqual([]);
  });

  describe.each(models.map((m) => [m.name, tableOf(m), m] as const))('model %s (table "%s")', (_name, _table, m) => {
    it('is stored in a table of that name in schema public', () => {
      expect(checkTableExists(m, snap)).toEqual([]);
    });

    it('has a column for every field, with the declared type, nullability and default', () => {
      expect(checkDeclaredColumns(m, snap)).toEqual([]);
    });

    it('has no column the model does not declare', () => {
      expect(checkUndeclaredColumns(m, snap)).toEqual([]);
    });

    it('has the declared primary key', () => {
      expect(checkIndexes(m, 'primary', snap).problems).toEqual([]);
    });

    it('has a unique index over exactly the columns of every @unique and @@unique', () => {
      expect(checkIndexes(m, 'unique', snap).problems).toEqual([]);
    });

    it('has every @@index, over its columns in order and with its declared name', () => {
      expect(checkIndexes(m, 'normal', snap).problems).toEqual([]);
    });
  });
});

describe('the schema comparison reports drift', () => {
  let db: TestDb;

  beforeAll(async () => {
    db = await createTestDb(1);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('finds nothing to report on an untouched migrated database', async () => {
    expect(allDifferences(models, await snapshot(db.pool))).toEqual([]);
  });

  it('says exactly which table, column and index differs after the database is altered by hand', async () => {
    await db.pool.query(`
      CREATE TABLE stray (id integer);
      ALTER TABLE lane ADD COLUMN extra text;
      ALTER TABLE job ALTER COLUMN attempts TYPE bigint;
      ALTER TABLE job ALTER COLUMN lane SET NOT NULL;
      ALTER TABLE job ALTER COLUMN status DROP DEFAULT;
      ALTER TABLE job ALTER COLUMN generation SET DEFAULT 2;
      ALTER TABLE job ALTER COLUMN kind SET DEFAULT 'x';
      ALTER TABLE alert DROP COLUMN card_error;
      DROP INDEX job_status_run_at_idx;
      CREATE INDEX job_status_idx ON job (status);
      ALTER INDEX alert_finding_id_key RENAME TO alert_finding_key;
      DROP INDEX alert_account_created_idx;
      CREATE INDEX alert_account_created_idx ON alert (account_id, created_at);
    `);
    const diffs = allDifferences(models, await snapshot(db.pool));
    const expected = [
      'public.stray: table is not declared in schema.prisma',
      'lane.extra: column (text) is not declared in model Lane',
      'job.attempts (Job.attempts): type is bigint, schema says integer',
      'job.lane (Job.lane): column is NOT NULL, schema says optional',
      'job.status (Job.status): default is missing, schema says "pending"',
      'job.generation (Job.generation): default is 2, schema says 1',
      "job.kind (Job.kind): column has default 'x'::text, schema declares none",
      'alert.card_error (Alert.cardError): column does not exist',
      expect.stringMatching(
        /^job: Job @@index\(\[status, runAt\], map: "job_status_run_at_idx"\): no index over \(status, run_at\) named "job_status_run_at_idx"; the table has: .*index "job_status_idx" \(status\)/,
      ),
      'job: index "job_status_idx" (status) is not declared in model Job',
      'alert: Alert.findingId @unique(map: "alert_finding_id_key"): the unique index over (finding_id) is named "alert_finding_key", schema says "alert_finding_id_key"',
      'alert: unique index "alert_finding_key" (finding_id) is not declared in model Alert',
      'alert: Alert @@index([accountId, createdAt(sort: Desc)], map: "alert_account_created_idx"): "alert_account_created_idx" should be an index over (account_id, created_at DESC) but has sort order (account_id ASC, created_at ASC)',
    ];
    expect(diffs).toEqual(expect.arrayContaining(expected));
    expect(diffs).toHaveLength(expected.length);
  });
});

// ---------------------------------------------------------------------------
// The migrator
// ---------------------------------------------------------------------------

/** The migrations on disk, read independently of app/adapters/db/migrate.ts. */
function migrationsOnDisk(): { name: string; checksum: string }[] {
  return readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(MIGRATIONS_DIR, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort()
    .map((name) => ({
      name,
      checksum: createHash('sha256')
        .update(readFileSync(join(MIGRATIONS_DIR, name, 'migration.sql')))
        .digest('hex'),
    }));
}

interface BookkeepingRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

async function bookkeeping(pool: Pool): Promise<BookkeepingRow[]> {
  const res = await pool.query<BookkeepingRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count
       FROM "_prisma_migrations" ORDER BY migration_name, started_at`,
  );
  return res.rows;
}

describe('migrate()', () => {
  const onDisk = migrationsOnDisk();
  const names = onDisk.map((m) => m.name);
  const cleanups: (() => Promise<void>)[] = [];

  /** An empty database and `count` pools on it, all cleaned up after the tests. */
  async function emptyDatabase(count = 1): Promise<Pool[]> {
    const empty = await createEmptyDatabase();
    const pools = Array.from({ length: count }, () => new Pool({ connectionString: empty.url, max: 2 }));
    cleanups.push(async () => {
      await Promise.all(pools.map((p) => p.end()));
      await empty.drop();
    });
    return pools;
  }

  function onePool(pools: Pool[]): Pool {
    const [pool] = pools;
    if (!pool) throw new Error('no pool');
    return pool;
  }

  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('finds at least one migration on disk', () => {
    expect(names.length).toBeGreaterThan(0);
  });

  it('lists every migration as pending for an empty database, and none after migrating', async () => {
    const pool = onePool(await emptyDatabase());
    expect(await pendingMigrations(pool, MIGRATIONS_DIR)).toEqual(names);
    await migrate(pool, MIGRATIONS_DIR);
    expect(await pendingMigrations(pool, MIGRATIONS_DIR)).toEqual([]);
  });

  it('applies every migration once, recording it as finished with one step and the sha256 of its file', async () => {
    const pool = onePool(await emptyDatabase());
    expect(await migrate(pool, MIGRATIONS_DIR)).toEqual(names);
    const rows = await bookkeeping(pool);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const m of onDisk) {
      const row = rows.find((r) => r.migration_name === m.name);
      expect({
        name: row?.migration_name,
        finished: row?.finished_at instanceof Date,
        rolledBack: row?.rolled_back_at ?? null,
        steps: row?.applied_steps_count,
        checksum: row?.checksum,
      }).toEqual({ name: m.name, finished: true, rolledBack: null, steps: 1, checksum: m.checksum });
    }
  });

  it('applies nothing when run again on a migrated database', async () => {
    const pool = onePool(await emptyDatabase());
    await migrate(pool, MIGRATIONS_DIR);
    const before = await bookkeeping(pool);
    expect(await migrate(pool, MIGRATIONS_DIR)).toEqual([]);
    expect(await bookkeeping(pool)).toEqual(before);
  });

  it('applies each migration exactly once when two processes migrate at the same time', async () => {
    const [a, b] = await emptyDatabase(2);
    if (!a || !b) throw new Error('no pools');
    const [fromA, fromB] = await Promise.all([migrate(a, MIGRATIONS_DIR), migrate(b, MIGRATIONS_DIR)]);
    // Between them they applied everything, and no migration twice.
    expect([...fromA, ...fromB].sort()).toEqual(names);
    const rows = await bookkeeping(a);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    expect(rows.every((r) => r.finished_at instanceof Date && r.applied_steps_count === 1)).toBe(true);
  });

  it('refuses with a MigrationError when an applied migration’s checksum no longer matches its file', async () => {
    const pool = onePool(await emptyDatabase());
    await migrate(pool, MIGRATIONS_DIR);
    const [first] = names;
    await pool.query(`UPDATE "_prisma_migrations" SET checksum = repeat('0', 64) WHERE migration_name = $1`, [first]);
    const outcome = await migrate(pool, MIGRATIONS_DIR).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(outcome).toBeInstanceOf(MigrationError);
    expect((outcome as MigrationError).message).toContain(`${first}`);
    expect((outcome as MigrationError).message).toContain('checksum');
  });
});
