// Drives weft serve with pgjdbc the way BI tools do: metadata first
// (tables, columns, keys, types, schemas), then prepared statements and
// result set metadata. Prints one line per check; pgwire.TestPgJDBC
// compares them. Run as a single source file: java -cp postgresql.jar WeftJdbc.java URL
import java.sql.*;

public class WeftJdbc {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE items (id bigint PRIMARY KEY, name varchar(20), price numeric(8,2), added date)");
                s.execute("INSERT INTO items VALUES (1, 'apple', 0.50, '2024-01-02'), (2, 'pear', 1.25, '2024-02-03')");
            }
            DatabaseMetaData md = c.getMetaData();
            System.out.println("product " + md.getDatabaseProductName() + " " + md.getDatabaseMajorVersion());
            try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE"})) {
                StringBuilder sb = new StringBuilder();
                while (rs.next()) sb.append(rs.getString("TABLE_SCHEM")).append('.').append(rs.getString("TABLE_NAME")).append(':').append(rs.getString("TABLE_TYPE")).append(' ');
                System.out.println("tables " + sb.toString().trim());
            }
            try (ResultSet rs = md.getColumns(null, "public", "items", "%")) {
                StringBuilder sb = new StringBuilder();
                while (rs.next()) sb.append(rs.getString("COLUMN_NAME")).append(':').append(rs.getString("TYPE_NAME")).append(':').append(rs.getInt("NULLABLE")).append(' ');
                System.out.println("columns " + sb.toString().trim());
            }
            // Weft has no keys or indexes yet: these answer with no rows
            try (ResultSet rs = md.getPrimaryKeys(null, "public", "items")) {
                StringBuilder sb = new StringBuilder();
                while (rs.next()) sb.append(rs.getString("COLUMN_NAME")).append('/').append(rs.getString("PK_NAME")).append(' ');
                System.out.println("primary keys " + sb.toString().trim());
            }
            try (ResultSet rs = md.getIndexInfo(null, "public", "items", false, false)) {
                StringBuilder sb = new StringBuilder();
                while (rs.next()) sb.append(rs.getString("INDEX_NAME")).append('/').append(rs.getString("COLUMN_NAME")).append('/').append(rs.getBoolean("NON_UNIQUE")).append(' ');
                System.out.println("indexes " + sb.toString().trim());
            }
            try (ResultSet rs = md.getImportedKeys(null, "public", "items")) {
                int n = 0;
                while (rs.next()) n++;
                System.out.println("imported keys " + n);
            }
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE lines (id bigint PRIMARY KEY, item_id bigint REFERENCES items ON DELETE CASCADE)");
            }
            try (ResultSet rs = md.getImportedKeys(null, "public", "lines")) {
                StringBuilder sb = new StringBuilder();
                while (rs.next()) sb.append(rs.getString("FKCOLUMN_NAME")).append("->").append(rs.getString("PKTABLE_NAME")).append('.').append(rs.getString("PKCOLUMN_NAME"))
                    .append('/').append(rs.getString("FK_NAME")).append('/').append(rs.getInt("DELETE_RULE") == DatabaseMetaData.importedKeyCascade).append(' ');
                System.out.println("foreign keys " + sb.toString().trim());
            }
            try (ResultSet rs = md.getSchemas()) {
                StringBuilder sb = new StringBuilder();
                while (rs.next()) sb.append(rs.getString("TABLE_SCHEM")).append(' ');
                System.out.println("schemas " + sb.toString().trim());
            }
            try (ResultSet rs = md.getTypeInfo()) {
                int n = 0;
                boolean int8 = false;
                while (rs.next()) { n++; if ("int8".equals(rs.getString("TYPE_NAME"))) int8 = true; }
                System.out.println("typeinfo " + (n > 10) + " " + int8);
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT id, name, price, added FROM items WHERE price > ? AND name <> ? ORDER BY id")) {
                ps.setBigDecimal(1, new java.math.BigDecimal("0.10"));
                ps.setString(2, "nothing");
                try (ResultSet rs = ps.executeQuery()) {
                    ResultSetMetaData m = rs.getMetaData();
                    StringBuilder sb = new StringBuilder();
                    for (int i = 1; i <= m.getColumnCount(); i++) sb.append(m.getColumnName(i)).append(':').append(m.getColumnTypeName(i)).append(' ');
                    System.out.println("rsmeta " + sb.toString().trim());
                    StringBuilder rows = new StringBuilder();
                    while (rs.next()) rows.append(rs.getLong(1)).append('/').append(rs.getString(2)).append('/').append(rs.getBigDecimal(3)).append('/').append(rs.getDate(4)).append(' ');
                    System.out.println("rows " + rows.toString().trim());
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO items VALUES (?, ?, ?, ?)")) {
                for (int i = 3; i <= 5; i++) {
                    ps.setLong(1, i);
                    ps.setString(2, "item" + i);
                    ps.setBigDecimal(3, new java.math.BigDecimal(i + ".5"));
                    ps.setDate(4, Date.valueOf("2024-03-0" + i));
                    ps.addBatch();
                }
                System.out.println("batch " + ps.executeBatch().length);
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*), sum(price) FROM items")) {
                rs.next();
                System.out.println("total " + rs.getLong(1) + " " + rs.getBigDecimal(2));
            }
            // a transaction: a second connection does not see it until commit
            try (Connection other = DriverManager.getConnection(args[0])) {
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("DELETE FROM items WHERE id > 2");
                    c.rollback();
                    s.executeUpdate("INSERT INTO items (id, name) VALUES (6, 'late')");
                    System.out.println("tx inside " + count(c) + " outside " + count(other));
                    c.commit();
                    System.out.println("tx committed " + count(other));
                }
                c.setAutoCommit(true);
            }
        }
    }

    static long count(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM items")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
