// Drives weft serve with node-postgres: simple and parameterized queries,
// a pool, a transaction, and errors. Prints one line per check; the Go test
// compares them.
const { Client, Pool } = require('pg');

async function main() {
  const url = process.argv[2];
  const c = new Client({ connectionString: url });
  await c.connect();
  await c.query('CREATE TABLE n (id int, name text, price numeric(6,2), at timestamptz)');
  for (let i = 1; i <= 20; i++) {
    await c.query('INSERT INTO n VALUES ($1, $2, $3, $4)', [i, 'name ' + i, i * 0.25, new Date(Date.UTC(2024, 0, i))]);
  }
  let r = await c.query('SELECT count(*)::int AS n, sum(price) AS s FROM n WHERE id > $1', [10]);
  console.log('agg', r.rows[0].n, r.rows[0].s);
  r = await c.query({ text: 'SELECT id, name FROM n WHERE name = $1', values: ['name 7'], rowMode: 'array' });
  console.log('array', JSON.stringify(r.rows));
  r = await c.query('SELECT at FROM n WHERE id = 3');
  console.log('date', r.rows[0].at.toISOString());
  await c.query('BEGIN');
  await c.query('DELETE FROM n');
  await c.query('ROLLBACK');
  r = await c.query('SELECT count(*) AS n FROM n');
  console.log('rollback', r.rows[0].n);
  try {
    await c.query('SELECT nope FROM n');
  } catch (e) {
    console.log('error', e.code, e.position);
  }
  r = await c.query('SELECT 1 AS one');
  console.log('after error', r.rows[0].one);
  await c.end();

  const pool = new Pool({ connectionString: url, max: 8 });
  const sums = await Promise.all([...Array(32).keys()].map(async (k) => {
    const res = await pool.query('SELECT sum(id)::int AS s FROM n WHERE id <= $1', [k % 20 + 1]);
    return res.rows[0].s;
  }));
  console.log('pool', sums.reduce((a, b) => a + b, 0));
  await pool.end();
}

main().catch((e) => { console.error(e); process.exit(1); });
