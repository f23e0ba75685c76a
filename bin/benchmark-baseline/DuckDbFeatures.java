import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.LocalDate;

/**
 * The baseline a user might pick instead of personas: per-user features in one DuckDB SQL query
 * over the same event Parquet, written to CSV for scikit-learn. The features are the ones
 * personas clusters on plus RFM, sessions, activity, messaging and category columns, with the same
 * definitions (docs/features.md). Events are de-duplicated by the rule personas applies: of the
 * rows of one event_id, the earliest, then the first file by name, then the first in the file.
 *
 * <p>Usage: java -cp duckdb_jdbc.jar DuckDbFeatures.java EVENTS_DIR RUN_DATE OUT_CSV
 */
public class DuckDbFeatures {
  public static void main(String[] args) throws Exception {
    String events = args[0];
    LocalDate d = LocalDate.parse(args[1]);
    String csv = args[2];
    String day = "DATE '" + d + "'";
    String end = "TIMESTAMP '" + d.plusDays(1) + " 00:00:00'";
    String app = "event_name NOT IN ('message_received', 'message_open', 'message_click', 'opt_out', 'uninstall', 'refund')";
    String sql = """
        COPY (
        WITH raw AS (
          SELECT * FROM read_parquet('%1$s/*.parquet', filename = true, file_row_number = true)
          WHERE event_time < %3$s AND user_id IS NOT NULL
        ), e AS (
          SELECT * FROM raw
          QUALIFY event_id IS NULL
              OR row_number() OVER (PARTITION BY event_id ORDER BY event_time, filename, file_row_number) = 1
        ), u AS (
          SELECT user_id,
            count(DISTINCT CASE WHEN event_name = 'purchase' THEN coalesce(order_id, event_id) END) AS frequency,
            coalesce(sum(CASE WHEN event_name = 'purchase' THEN revenue
                              WHEN event_name = 'refund' THEN -abs(revenue) END), 0) AS monetary,
            date_diff('day', max(CASE WHEN event_name = 'purchase' THEN event_time END)::DATE, %2$s) AS recency_days,
            count(*) FILTER (event_name = 'session_start' AND event_time >= %2$s - INTERVAL 6 DAY) AS sessions_7d,
            count(*) FILTER (event_name = 'session_start' AND event_time >= %2$s - INTERVAL 29 DAY) AS sessions_30d,
            count(*) FILTER (event_name = 'session_start' AND event_time >= %2$s - INTERVAL 89 DAY) AS sessions_90d,
            count(DISTINCT CASE WHEN %4$s AND event_time >= %2$s - INTERVAL 29 DAY THEN event_time::DATE END) AS active_days_30d,
            date_diff('day', max(CASE WHEN event_name = 'session_start' THEN event_time END)::DATE, %2$s) AS days_since_last_session,
            avg(CASE WHEN event_name = 'session_start' THEN duration_s END) AS avg_session_duration_s,
            count(*) FILTER (event_name = 'product_view' AND event_time >= %2$s - INTERVAL 29 DAY) AS product_views_30d,
            count(*) FILTER (event_name = 'add_to_cart' AND event_time >= %2$s - INTERVAL 29 DAY) AS add_to_cart_30d,
            avg(CASE WHEN hour(event_time) >= 22 OR hour(event_time) < 4 THEN 1.0 ELSE 0.0 END)
              FILTER (event_name = 'purchase') AS night_purchase_share,
            avg(CASE WHEN dayofweek(event_time) IN (0, 6) THEN 1.0 ELSE 0.0 END) FILTER (%4$s) AS weekend_share,
            count(*) FILTER (event_name = 'message_received' AND event_time >= %2$s - INTERVAL 29 DAY) AS messages_received_30d,
            count(*) FILTER (event_name = 'message_open' AND event_time >= %2$s - INTERVAL 29 DAY) AS messages_opened_30d,
            mode(category) FILTER (event_name IN ('product_view', 'add_to_cart', 'purchase')) AS top_category,
            date_diff('day', min(event_time)::DATE, %2$s) AS tenure_days,
            coalesce(max(CASE WHEN event_name = 'uninstall' THEN event_time END)
                     >= max(CASE WHEN %4$s THEN event_time END), false) AS uninstalled
          FROM e GROUP BY user_id
        )
        SELECT * FROM u ORDER BY user_id
        ) TO '%5$s' (HEADER, DELIMITER ',');
        """.formatted(events, day, end, app, csv);
    long t0 = System.nanoTime();
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:"); Statement s = c.createStatement()) {
      s.execute(sql);
    }
    System.out.printf("duckdb_features_seconds=%.1f%n", (System.nanoTime() - t0) / 1e9);
  }
}
