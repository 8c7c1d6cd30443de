// knex's schema builder, query builder, migrations and introspection
// against a server, the way an application uses them. Driven by
// pgwire.TestKnex with the server's URL; prints one line per check. The
// expected lines come from running it against PostgreSQL 15.
const fs = require('fs');
const os = require('os');
const path = require('path');
const knex = require('knex');

const out = (name, value) => console.log(name, JSON.stringify(value));

const MIGRATION = `
exports.up = async (knex) => {
  await knex.schema.createTable('kx_tags', (t) => {
    t.increments('id');
    t.integer('book_id').notNullable().references('id').inTable('kx_books');
    t.string('label', 40).notNullable().unique();
  });
  await knex.schema.alterTable('kx_books', (t) => {
    t.string('isbn', 13).notNullable().defaultTo('none');
  });
};
exports.down = async (knex) => {
  await knex.schema.alterTable('kx_books', (t) => { t.dropColumn('isbn'); });
  await knex.schema.dropTable('kx_tags');
};
`;

async function schema(db) {
  for (const t of ['kx_tags', 'kx_reviews', 'kx_books', 'kx_authors', 'knex_migrations', 'knex_migrations_lock']) {
    await db.schema.dropTableIfExists(t);
  }
  await db.schema.createTable('kx_authors', (t) => {
    t.increments('id');
    t.text('name').notNullable().unique();
    t.timestamp('joined', { useTz: true }).notNullable();
    t.boolean('active').notNullable().defaultTo(true);
  });
  await db.schema.createTable('kx_books', (t) => {
    t.bigIncrements('id');
    t.integer('author_id').notNullable().references('id').inTable('kx_authors').onDelete('CASCADE');
    t.string('title', 200).notNullable().index();
    t.decimal('price', 8, 2);
    t.json('meta');
    t.unique(['author_id', 'title']);
  });
  await db.schema.createTable('kx_reviews', (t) => {
    t.bigIncrements('id');
    t.bigInteger('book_id').notNullable().references('id').inTable('kx_books').onDelete('CASCADE');
    t.smallint('stars').notNullable();
    t.text('body');
    t.timestamp('posted', { useTz: true }).defaultTo(db.fn.now());
  });
  out('has tables', await Promise.all(['kx_authors', 'kx_books', 'kx_reviews', 'nosuch'].map((t) => db.schema.hasTable(t))));
}

async function crud(db) {
  const [ann] = await db('kx_authors').insert({ name: 'Ann', joined: new Date('2024-01-02T03:04:05Z') }).returning('*');
  const [bob] = await db('kx_authors').insert({ name: 'Bob', joined: new Date('2024-06-01T12:00:00Z'), active: false }).returning(['id', 'active']);
  out('inserted', [ann.id, ann.name, ann.active, ann.joined.toISOString(), bob]);
  const books = await db('kx_books').insert([
    { author_id: ann.id, title: 'Alpha', price: '12.50', meta: JSON.stringify({ tags: ['a', 'b'], pages: 120 }) },
    { author_id: ann.id, title: 'Beta', price: '7.25', meta: JSON.stringify({ pages: 80 }) },
    { author_id: bob.id, title: 'Gamma' },
  ]).returning('id');
  out('book ids', books.map((b) => Number(b.id)));
  await db('kx_reviews').insert([
    { book_id: books[0].id, stars: 5, body: 'great' }, { book_id: books[0].id, stars: 3, body: 'ok' }, { book_id: books[2].id, stars: 1 },
  ]);
  // relationship: a join, and a second query over the first's ids
  const joined = await db('kx_books as b').join('kx_authors as a', 'a.id', 'b.author_id')
    .select('b.title', 'a.name').orderBy('b.title');
  out('joined', joined);
  const reviews = await db('kx_reviews').whereIn('book_id', books.map((b) => b.id)).orderBy('id').select('book_id', 'stars');
  out('reviews', reviews.map((r) => [Number(r.book_id), r.stars]));
  // paging with bound LIMIT/OFFSET, aggregates
  out('page', (await db('kx_books').orderBy('id').limit(1).offset(1).select('title')).map((r) => r.title));
  out('agg', await db('kx_books as b').join('kx_authors as a', 'a.id', 'b.author_id')
    .groupBy('a.name').orderBy('a.name').select('a.name').count('b.id as n').sum('b.price as total'));
  out('json', (await db('kx_books').where('title', 'Alpha').first('meta')).meta);
  // update, delete, a unique violation inside a transaction
  out('updated', await db('kx_books').where('title', 'Alpha').update({ price: '13.00' }));
  out('price', (await db('kx_books').where('title', 'Alpha').first('price')).price);
  out('deleted', await db('kx_authors').where('name', 'Bob').del());
  out('after delete', await Promise.all(['kx_authors', 'kx_books', 'kx_reviews'].map(async (t) => Number((await db(t).count('* as n'))[0].n))));
  try {
    await db.transaction(async (trx) => {
      await trx('kx_authors').insert({ name: 'Ann', joined: new Date() });
    });
    out('unique', 'not enforced');
  } catch (e) {
    out('unique', e.code);
  }
  out('posted set', Number((await db('kx_reviews').whereNotNull('posted').count('* as n'))[0].n));
}

async function introspect(db) {
  const info = await db('kx_books').columnInfo();
  out('column info', Object.entries(info).map(([k, v]) => [k, v.type, v.maxLength, v.nullable, v.defaultValue !== null]));
  out('has column', [await db.schema.hasColumn('kx_books', 'price'), await db.schema.hasColumn('kx_books', 'nosuch')]);
}

async function migrations(db, dir) {
  fs.writeFileSync(path.join(dir, '20240101000000_tags.js'), MIGRATION);
  const [batch, log] = await db.migrate.latest({ directory: dir });
  out('migrate latest', [batch, log.map((f) => path.basename(f))]);
  out('up', [await db.schema.hasTable('kx_tags'), await db.schema.hasColumn('kx_books', 'isbn'),
    (await db('kx_books').distinct('isbn')).map((r) => r.isbn)]);
  out('version', await db.migrate.currentVersion({ directory: dir }));
  const [rbatch, rlog] = await db.migrate.rollback({ directory: dir });
  out('rollback', [rbatch, rlog.map((f) => path.basename(f))]);
  out('down', [await db.schema.hasTable('kx_tags'), await db.schema.hasColumn('kx_books', 'isbn')]);
  await db.migrate.latest({ directory: dir });
}

async function secondStart(url, dir) {
  // the application starts again: nothing to migrate
  const db = knex({ client: 'pg', connection: url });
  try {
    const [batch, log] = await db.migrate.latest({ directory: dir });
    out('second migrate', [batch, log.length]);
    out('second list', (await db.migrate.list({ directory: dir }))[0].map((m) => m.name));
    out('second start', (await db('kx_authors').orderBy('id').select('name')).map((r) => r.name));
  } finally {
    await db.destroy();
  }
}

async function main() {
  const url = process.argv[2];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'knex-'));
  const db = knex({ client: 'pg', connection: url, pool: { min: 1, max: 3 } });
  try {
    await schema(db);
    await crud(db);
    await introspect(db);
    await migrations(db, dir);
  } finally {
    await db.destroy();
  }
  await secondStart(url, dir);
  fs.rmSync(dir, { recursive: true });
  out('done', 'ok');
}

main().catch((e) => { console.error(e); process.exit(1); });
