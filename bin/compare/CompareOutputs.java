import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Compares two output folders of personas, table by table, row by row, as a BI tool reads them.
 *
 * <p>Usage: java -cp duckdb_jdbc.jar CompareOutputs.java A B DATE [TABLE...]
 * Prints, per table, the rows of each side and the rows only one side has (EXCEPT ALL both
 * ways) over the columns both sides have; a column only one side has is named (a new feature
 * column is expected, and its absence must not hide differences in the others). Exits 1 when any
 * table differs.
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
        String fa = "read_parquet('" + a + "/" + t + "/dt=" + date + "/*.parquet')";
        String fb = "read_parquet('" + b + "/" + t + "/dt=" + date + "/*.parquet')";
        List<String> ca = columns(s, fa);
        List<String> cb = columns(s, fb);
        List<String> shared = new ArrayList<>(ca);
        shared.retainAll(cb);
        String cols = String.join(", ", shared.stream().map(n -> '"' + n + '"').toList());
        String x = "(SELECT " + cols + " FROM " + fa + ")";
        String y = "(SELECT " + cols + " FROM " + fb + ")";
        long na = count(s, "SELECT count(*) FROM " + x);
        long nb = count(s, "SELECT count(*) FROM " + y);
        long onlyA = count(s, "SELECT count(*) FROM (" + x + " EXCEPT ALL " + y + ")");
        long onlyB = count(s, "SELECT count(*) FROM (" + y + " EXCEPT ALL " + x + ")");
        differ |= onlyA + onlyB > 0;
        System.out.printf("%-20s %10d rows | %10d rows | only in first %d, only in second %d%s%n", t, na, nb, onlyA,
            onlyB, onlyA + onlyB == 0 ? "  identical" : "  DIFFER");
        report("first", ca, cb);
        report("second", cb, ca);
      }
    }
    System.exit(differ ? 1 : 0);
  }

  private static List<String> columns(Statement s, String from) throws Exception {
    List<String> names = new ArrayList<>();
    try (ResultSet r = s.executeQuery("SELECT column_name FROM (DESCRIBE SELECT * FROM " + from + ")")) {
      while (r.next()) {
        names.add(r.getString(1));
      }
    }
    return names;
  }

  private static void report(String side, List<String> these, List<String> others) {
    List<String> only = new ArrayList<>(these);
    only.removeAll(others);
    if (!only.isEmpty()) {
      System.out.printf("%-20s columns only in %s (not compared): %s%n", "", side, String.join(", ", only));
    }
  }

  private static long count(Statement s, String sql) throws Exception {
    try (ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }
}
