import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

/** Prints the number of rows of a Parquet folder. Usage: java -cp duckdb_jdbc.jar Count.java DIR */
public class Count {
  public static void main(String[] args) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT count(*) FROM read_parquet('" + args[0] + "/*.parquet')")) {
      rs.next();
      System.out.println(rs.getLong(1));
    }
  }
}
