// Sequelize's models, associations, sync, QueryInterface migrations and
// introspection against a server, the way an application uses them.
// Driven by pgwire.TestSequelize with the server's URL; prints one line per
// check. The expected lines come from running it against PostgreSQL 15.
const { Sequelize, DataTypes, Op, UniqueConstraintError } = require('sequelize');

const out = (name, value) => console.log(name, JSON.stringify(value));

function define(sequelize) {
  const Author = sequelize.define('Author', {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    name: { type: DataTypes.TEXT, allowNull: false, unique: true },
    joined: { type: DataTypes.DATE, allowNull: false },
    active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
  }, { tableName: 'sq_authors' });
  const Book = sequelize.define('Book', {
    id: { type: DataTypes.BIGINT, autoIncrement: true, primaryKey: true },
    title: { type: DataTypes.STRING(200), allowNull: false },
    price: DataTypes.DECIMAL(8, 2),
    meta: DataTypes.JSON,
  }, { tableName: 'sq_books', indexes: [{ fields: ['title'] }, { unique: true, fields: ['author_id', 'title'] }], underscored: true });
  const Review = sequelize.define('Review', {
    stars: { type: DataTypes.SMALLINT, allowNull: false },
    body: DataTypes.TEXT,
  }, { tableName: 'sq_reviews', underscored: true });
  // (Sequelize's default ON UPDATE is CASCADE)
  const fk = (name) => ({ foreignKey: { name, allowNull: false }, onDelete: 'CASCADE' });
  Author.hasMany(Book, { as: 'books', ...fk('authorId') });
  Book.belongsTo(Author, { as: 'author', ...fk('authorId') });
  Book.hasMany(Review, { as: 'reviews', ...fk('bookId') });
  Review.belongsTo(Book, { as: 'book', ...fk('bookId') });
  return { Author, Book, Review };
}

async function crud({ Author, Book, Review }) {
  const ann = await Author.create({ name: 'Ann', joined: new Date('2024-01-02T03:04:05Z'),
    books: [{ title: 'Alpha', price: '12.50', meta: { tags: ['a', 'b'], pages: 120 } }, { title: 'Beta', price: '7.25', meta: { pages: 80 } }] },
  { include: [{ model: Book, as: 'books' }] });
  const bob = await Author.create({ name: 'Bob', joined: new Date('2024-06-01T12:00:00Z'), active: false });
  const gamma = await Book.create({ title: 'Gamma', authorId: bob.id });
  await Review.bulkCreate([{ bookId: ann.books[0].id, stars: 5, body: 'great' }, { bookId: ann.books[0].id, stars: 3, body: 'ok' }, { bookId: gamma.id, stars: 1 }]);
  out('ids', [ann.id, bob.id, ann.books.map((b) => Number(b.id)), Number(gamma.id)]);
  // eager loading, nested
  const a = await Author.findOne({ where: { name: 'Ann' }, include: [{ model: Book, as: 'books', include: [{ model: Review, as: 'reviews' }] }],
    order: [[{ model: Book, as: 'books' }, 'id', 'ASC'], [{ model: Book, as: 'books' }, { model: Review, as: 'reviews' }, 'id', 'ASC']] });
  out('eager', a.books.map((b) => [b.title, b.price, b.reviews.map((r) => r.stars)]));
  out('belongsTo', (await Book.findAll({ include: [{ model: Author, as: 'author' }], order: [['title', 'ASC']] })).map((b) => [b.title, b.author.name]));
  out('lazy', (await (await Book.findOne({ where: { title: 'Alpha' } })).getAuthor()).name);
  out('where', (await Book.findAll({ where: { price: { [Op.gt]: 5 } }, order: [['title', 'ASC']], limit: 5, offset: 0 })).map((b) => b.title));
  out('count', await Book.count({ where: { authorId: ann.id } }));
  out('agg', await Book.findAll({ attributes: ['authorId', [Sequelize.fn('count', Sequelize.col('id')), 'n'], [Sequelize.fn('sum', Sequelize.col('price')), 'total']],
    group: ['authorId'], order: [['authorId', 'ASC']], raw: true }));
  out('json', (await Book.findOne({ where: { title: 'Alpha' } })).meta);
  // update, delete, unique violation
  out('updated', await Book.update({ price: '13.00' }, { where: { title: 'Alpha' } }));
  const alpha = await Book.findOne({ where: { title: 'Alpha' } });
  alpha.meta = { tags: ['c'] };
  await alpha.save();
  await alpha.reload();
  out('saved', [alpha.price, alpha.meta]);
  await bob.destroy();
  out('after delete', [await Author.count(), await Book.count(), await Review.count()]);
  try {
    await Author.create({ name: 'Ann', joined: new Date() });
    out('unique', 'not enforced');
  } catch (e) {
    out('unique', e instanceof UniqueConstraintError ? e.parent.code : String(e));
  }
}

async function introspect(sequelize) {
  const qi = sequelize.getQueryInterface();
  out('tables', (await qi.showAllTables()).filter((t) => t.startsWith('sq_')).sort());
  const desc = await qi.describeTable('sq_books');
  out('describe', Object.entries(desc).map(([k, v]) => [k, v.type, v.allowNull, v.primaryKey, v.autoIncrement === true]));
  out('indexes', (await qi.showIndex('sq_books')).map((i) => [i.name, i.unique, i.primary, i.fields.map((f) => f.attribute)]).sort());
  out('foreign keys', (await qi.getForeignKeyReferencesForTable('sq_books')).map((f) => [f.constraintName, f.columnName, f.referencedTableName, f.referencedColumnName]));
}

async function migration(sequelize) {
  const qi = sequelize.getQueryInterface();
  const up = async () => {
    await qi.createTable('sq_tags', {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      book_id: { type: DataTypes.BIGINT, allowNull: false, references: { model: 'sq_books', key: 'id' }, onUpdate: 'CASCADE' },
      label: { type: DataTypes.STRING(40), allowNull: false, unique: true },
    });
    await qi.addColumn('sq_books', 'isbn', { type: DataTypes.STRING(13), allowNull: false, defaultValue: 'none' });
    await qi.addIndex('sq_tags', ['book_id'], { name: 'sq_tags_book' });
  };
  const down = async () => {
    await qi.removeIndex('sq_tags', 'sq_tags_book');
    await qi.removeColumn('sq_books', 'isbn');
    await qi.dropTable('sq_tags');
  };
  await up();
  out('up', [(await qi.showAllTables()).includes('sq_tags'), Object.keys(await qi.describeTable('sq_books')).includes('isbn'),
    (await sequelize.query('SELECT DISTINCT isbn FROM sq_books', { type: Sequelize.QueryTypes.SELECT })).map((r) => r.isbn)]);
  await down();
  out('down', [(await qi.showAllTables()).includes('sq_tags'), Object.keys(await qi.describeTable('sq_books')).includes('isbn')]);
}

async function main() {
  const url = process.argv[2];
  let sequelize = new Sequelize(url, { logging: false, timezone: '+00:00' });
  let models = define(sequelize);
  await sequelize.authenticate();
  await sequelize.query('DROP TABLE IF EXISTS sq_tags, sq_reviews, sq_books, sq_authors');
  await sequelize.sync();
  await crud(models);
  await introspect(sequelize);
  await migration(sequelize);
  await sequelize.close();
  // a second start: sync and sync({alter}) against the existing schema
  sequelize = new Sequelize(url, { logging: false, timezone: '+00:00' });
  models = define(sequelize);
  await sequelize.sync();
  await sequelize.sync({ alter: true });
  out('second start', (await models.Author.findAll({ order: [['id', 'ASC']] })).map((x) => x.name));
  out('after alter', [await models.Book.count(), (await sequelize.getQueryInterface().showIndex('sq_books')).length]);
  await sequelize.close();
  out('done', 'ok');
}

main().catch((e) => { console.error(e); process.exit(1); });
