import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

/**
 * Compares two output folders of personas, table by table, row by row, as a BI tool reads them.
 *
 * <p>Usage: java -cp duckdb_jdbc.jar CompareOutputs.java A B DATE [TABLE...]
 * Prints, per table, the rows of each side and the rows only one side has (EXCEPT ALL both
 * ways); exits 1 when any table differs.
 */
public class CompareOutputs {
  public static void main(String[] args) throws Exception {
    String a = args[0];
    String b = args[1];
    String date = args[2];
    List<String> tables = args.length > 3 ? List.of(args).subList(3, args.length)
        : List.of("quarantine", "features", "segments", "personas", "k_selection", "segment_kpis", "holdout_uplift",
            "segment_transitions", "segment_history");
    boolean differ = false;
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
      for (String t : tables) {
        String x = "(SELECT * FROM read_parquet('" + a + "/" + t + "/dt=" + date + "/*.parquet'))";
        String y = "(SELECT * FROM read_parquet('" + b + "/" + t + "/dt=" + date + "/*.parquet'))";
        long na = count(s, "SELECT count(*) FROM " + x);
        long nb = count(s, "SELECT count(*) FROM " + y);
        long onlyA = count(s, "SELECT count(*) FROM (" + x + " EXCEPT ALL " + y + ")");
        long onlyB = count(s, "SELECT count(*) FROM (" + y + " EXCEPT ALL " + x + ")");
        differ |= onlyA + onlyB > 0;
        System.out.printf("%-20s %10d rows | %10d rows | only in first %d, only in second %d%s%n", t, na, nb, onlyA,
            onlyB, onlyA + onlyB == 0 ? "  identical" : "  DIFFER");
      }
    }
    System.exit(differ ? 1 : 0);
  }

  private static long count(Statement s, String sql) throws Exception {
    try (ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }
}
