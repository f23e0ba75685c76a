package io.github.personas.pipeline.features;

import io.github.personas.pipeline.io.Contract;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The features in plain Spark SQL aggregates: the definition {@link FeatureBuilder}'s one-pass
 * aggregation must agree with (FeatureBuilder used it until the 50M-event benchmark showed two
 * passes and a per-session side aggregate cost three times a single pass).
 */
final class SqlReferenceFeatures {

  private static final String APP_EVENT = FeatureBuilder.APP_EVENT;
  private static final String SHOPPING_EVENT = FeatureBuilder.SHOPPING_EVENT;

  private static final AtomicLong VIEWS = new AtomicLong(1_000_000);

  private final LocalDate runDate;
  private final String timezone;
  private final List<Integer> sessionWindows;

  /**
   * @param runDate        the as-of date D
   * @param timezone       IANA zone in which time-of-day and weekday features are read
   * @param sessionWindows trailing windows in days for the sessions_&lt;N&gt;d columns
   */
  SqlReferenceFeatures(LocalDate runDate, String timezone, List<Integer> sessionWindows) {
    this.runDate = Objects.requireNonNull(runDate, "runDate");
    this.timezone = ZoneId.of(Objects.requireNonNull(timezone, "timezone")).getId();
    this.sessionWindows = List.copyOf(sessionWindows);
    if (this.sessionWindows.isEmpty()) {
      throw new IllegalArgumentException("At least one session window is needed");
    }
  }

  /** With the default session windows 7, 30 and 90 days. */
  SqlReferenceFeatures(LocalDate runDate, String timezone) {
    this(runDate, timezone, List.of(7, 30, 90));
  }

  /**
   * The per-user aggregates of events, with the columns and types FeatureBuilder derives from.
   *
   * @param events accepted events with every contract column
   */
  Dataset<Row> perUser(Dataset<Row> events) {
    SparkSession spark = events.sparkSession();
    long id = VIEWS.incrementAndGet();
    String ev = "personas_reference_events_" + id;
    events.createOrReplaceTempView(ev);
    String agg = "personas_reference_users_" + id;
    String side = "personas_reference_side_" + id;
    try {
      spark.sql(aggregateSql(ev)).createOrReplaceTempView(agg);
      spark.sql(sideSql(ev)).createOrReplaceTempView(side);
      return spark.sql(joinSql(agg, side));
    } finally {
      spark.catalog().dropTempView(ev);
      spark.catalog().dropTempView(agg);
      spark.catalog().dropTempView(side);
    }
  }

  private String eventsCte(String ev) {
    String d = "DATE'" + runDate + "'";
    long endMicros = runDate.plusDays(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L;
    return """
        e AS (
          SELECT *,
                 event_name = 'purchase' AND revenue >= 0 AS is_purchase,
                 event_name = 'refund' OR (event_name = 'purchase' AND revenue < 0) AS is_refund,
                 %5$s AS is_app_event,
                 to_date(event_time) AS event_date,
                 to_date(event_time) > date_sub(%1$s, 30) AS in_30d,
                 from_utc_timestamp(event_time, '%2$s') AS local_time
          FROM %3$s
          WHERE event_time < timestamp_micros(%4$dL)
        )""".formatted(d, timezone, ev, endMicros, APP_EVENT);
  }

  private String windowAggregates(String d) {
    StringJoiner windows = new StringJoiner(",\n");
    for (int w : sessionWindows) {
      windows.add("count_if(event_name = 'session_start' AND event_date > date_sub(" + d + ", " + w + ")) AS sessions_" + w + "d");
    }
    return windows.toString();
  }

  /** One pass over events: everything per user that later columns derive from. */
  private String aggregateSql(String ev) {
    String d = "DATE'" + runDate + "'";
    return "WITH " + eventsCte(ev) + "\n" + """
          SELECT user_id,
                 min(event_time) AS first_event,
                 max(event_time) AS last_seen,
                 CAST(sum(CASE WHEN is_purchase THEN CAST(revenue AS DECIMAL(38, 4)) END) AS DOUBLE) AS purchase_revenue,
                 count_if(is_refund) AS refund_count,
                 CAST(sum(CASE WHEN is_refund THEN CAST(abs(revenue) AS DECIMAL(38, 4)) END) AS DOUBLE) AS refund_amount,
                 to_date(min(CASE WHEN is_purchase THEN event_time END)) AS first_purchase_date,
                 to_date(max(CASE WHEN is_purchase THEN event_time END)) AS last_purchase_date,
                 %1$s,
                 coalesce(bit_count(bit_or(CASE WHEN is_app_event AND in_30d
                   THEN shiftleft(1L, datediff(%2$s, event_date)) END)), 0) AS active_days_30d,
                 coalesce(bit_count(bit_or(CASE WHEN is_app_event AND NOT in_30d AND event_date > date_sub(%2$s, 60)
                   THEN shiftleft(1L, datediff(%2$s, event_date) - 30) END)), 0) AS active_days_prev_30d,
                 max(CASE WHEN event_name = 'session_start' THEN event_date END) AS last_session_date,
                 avg(CASE WHEN event_name = 'session_start' THEN duration_s END) AS avg_session_duration_s,
                 sum(CASE WHEN event_name = 'session_start' AND in_30d THEN duration_s END) AS session_duration_30d,
                 count_if(event_name = 'product_view' AND in_30d) AS product_views_30d,
                 count_if(event_name = 'add_to_cart' AND in_30d) AS add_to_cart_30d,
                 CAST(sum(CASE WHEN is_purchase AND in_30d THEN CAST(revenue AS DECIMAL(38, 4)) END) AS DOUBLE) AS purchase_revenue_30d,
                 CAST(sum(CASE WHEN is_refund AND in_30d THEN CAST(abs(revenue) AS DECIMAL(38, 4)) END) AS DOUBLE) AS refund_amount_30d,
                 count_if(is_purchase AND (hour(local_time) >= 22 OR hour(local_time) < 4)) AS night_purchases,
                 count_if(is_purchase) AS purchase_rows,
                 count_if(is_app_event AND dayofweek(local_time) IN (1, 7)) AS weekend_app_events,
                 count_if(is_app_event) AS app_events,
                 count_if(event_name = 'message_received' AND in_30d) AS messages_received_30d,
                 count_if(event_name = 'message_open' AND in_30d) AS message_opens_30d,
                 count_if(event_name = 'message_click' AND in_30d) AS message_clicks_30d,
                 count_if(event_name = 'opt_out') > 0 AS has_opt_out_event,
                 min(CASE WHEN event_name = 'install' THEN event_time END) AS install_event_time,
                 max(CASE WHEN event_name = 'uninstall' THEN event_time END) AS last_uninstall,
                 max(CASE WHEN is_app_event THEN event_time END) AS last_app_event,
                 count(DISTINCT CASE WHEN %3$s AND event_date > date_sub(%2$s, 90) THEN product_id END)
                   AS distinct_products_90d,
                 count(DISTINCT CASE WHEN is_purchase THEN event_date END) AS purchase_days,
                 CAST(sum(CASE WHEN is_purchase AND event_date = first_purchase_day
                   THEN CAST(revenue AS DECIMAL(38, 4)) END) AS DOUBLE) AS first_purchase_day_revenue
          FROM (SELECT *, min(CASE WHEN is_purchase THEN event_date END) OVER (PARTITION BY user_id)
                  AS first_purchase_day FROM e) e
          GROUP BY user_id
        """.formatted(windowAggregates(d), d, SHOPPING_EVENT);
  }

  /** The string columns whose latest non-null value per user is a feature, and their feature names. */
  private static final String[][] LATEST = {
      {"platform", "platform"}, {"os_version", "os_version"}, {"app_version", "app_version"},
      {"device_model", "device_model"}, {"country", "event_country"}, {"region", "event_region"},
      {"city", "event_city"}};

  /**
   * The second pass over events, for what needs more than one number per user: distinct orders,
   * session start times, event counts per category and the latest device and place.
   *
   * <p>Each event becomes zero or more (tag, value) rows, aggregated per user, tag and value
   * with fixed-width counters only, so Spark's hash aggregate keeps it to a few rows per user
   * before the shuffle; lists and picks are then made per user from those few rows. Collecting
   * from every event instead made Spark sort all events (its object and string aggregates fall
   * back to sorting), which cost three quarters of the features stage.
   */
  private String sideSql(String ev) {
    StringJoiner devices = new StringJoiner(", ");
    StringJoiner anyDevice = new StringJoiner(" OR ");
    StringJoiner deviceKeys = new StringJoiner(", ");
    StringJoiner latest = new StringJoiner(",\n");
    for (String[] c : LATEST) {
      devices.add("'" + c[0] + "', " + c[0]);
      anyDevice.add(c[0] + " IS NOT NULL");
      deviceKeys.add("t.d." + c[0] + " AS " + c[0]);
      latest.add("max_by(" + c[0] + ", CASE WHEN tag = 'device' AND " + c[0] + " IS NOT NULL THEN last_time END) AS " + c[1]);
    }
    // The tag is null where an event has no such row; CASE rather than filter(), which Spark
    // cannot compile to code and ran ten times slower.
    return "WITH " + eventsCte(ev) + ",\n" + """
        tagged AS (
          SELECT user_id, in_30d, event_time, t.tag, t.val, t.ts, %2$s
          FROM e LATERAL VIEW inline(array(
            named_struct('tag', CASE WHEN is_purchase THEN 'order' END, 'val', order_id, 'ts', CAST(NULL AS TIMESTAMP),
              'd', CAST(NULL AS STRUCT<%4$s>)),
            named_struct('tag', CASE WHEN event_name = 'session_start' THEN 'session' END, 'val', CAST(NULL AS STRING),
              'ts', event_time, 'd', CAST(NULL AS STRUCT<%4$s>)),
            named_struct('tag', CASE WHEN category IS NOT NULL AND %5$s THEN 'category' END, 'val', category,
              'ts', CAST(NULL AS TIMESTAMP), 'd', CAST(NULL AS STRUCT<%4$s>)),
            named_struct('tag', CASE WHEN %3$s THEN 'device' END, 'val', CAST(NULL AS STRING),
              'ts', CAST(NULL AS TIMESTAMP), 'd', named_struct(%1$s))
          )) t AS tag, val, ts, d
        ),
        grouped AS (
          SELECT user_id, tag, val, ts, %6$s,
                 count(*) AS n, count_if(in_30d) AS n30, max(event_time) AS last_time
          FROM tagged WHERE tag IS NOT NULL
          GROUP BY user_id, tag, val, ts, %6$s
        )
        SELECT user_id,
               coalesce(sum(CASE WHEN tag = 'order' THEN CASE WHEN val IS NULL THEN n ELSE 1 END END), 0) AS frequency,
               coalesce(sum(CASE WHEN tag = 'order' THEN CASE WHEN val IS NULL THEN n30 WHEN n30 > 0 THEN 1 ELSE 0 END END),
                 0) AS purchases_30d,
               array_sort(flatten(collect_list(CASE WHEN tag = 'session' THEN array_repeat(ts, CAST(n AS INT)) END)))
                 AS session_times,
               try_element_at(sort_array(collect_list(CASE WHEN tag = 'category' THEN struct(-n AS neg_n, val AS category) END)),
                 1).category AS top_category,
               CAST(max(CASE WHEN tag = 'category' THEN n END) AS DOUBLE) / sum(CASE WHEN tag = 'category' THEN n END)
                 AS top_category_share,
               count_if(tag = 'category') AS distinct_categories,
               map_from_entries(array_sort(collect_list(CASE WHEN tag = 'category' THEN struct(val, n) END)))
                 AS category_events,
               %7$s
        FROM grouped
        GROUP BY user_id
        """.formatted(devices, deviceKeys, anyDevice, deviceType(), SHOPPING_EVENT, deviceCols(), latest);
  }

  private static String deviceType() {
    StringJoiner t = new StringJoiner(", ");
    for (String[] c : LATEST) {
      t.add(c[0] + ": STRING");
    }
    return t.toString();
  }

  private static String deviceCols() {
    StringJoiner t = new StringJoiner(", ");
    for (String[] c : LATEST) {
      t.add(c[0]);
    }
    return t.toString();
  }

  /** Joins the two aggregates and takes the median gap between sessions. */
  private String joinSql(String agg, String side) {
    StringJoiner latestCols = new StringJoiner(", ");
    for (String[] c : LATEST) {
      latestCols.add("su." + c[1]);
    }
    return """
        WITH g AS (
          SELECT a.*, su.frequency, su.purchases_30d,
                 transform(slice(su.session_times, 2, greatest(size(su.session_times) - 1, 0)),
                   (t, i) -> (unix_micros(t) - unix_micros(element_at(su.session_times, i + 1))) / 86400000000D) AS gaps,
                 su.top_category, su.top_category_share, su.distinct_categories, su.category_events, %1$s
          FROM %2$s a LEFT JOIN %3$s su ON a.user_id = su.user_id
        ),
        s AS (
          SELECT g.*, array_sort(gaps) AS sorted_gaps, size(gaps) AS n_gaps FROM g
        )
        SELECT * EXCEPT (gaps, sorted_gaps, n_gaps),
               CASE WHEN n_gaps = 0 THEN NULL
                    WHEN n_gaps %% 2 = 1 THEN element_at(sorted_gaps, CAST((n_gaps + 1) DIV 2 AS INT))
                    ELSE (element_at(sorted_gaps, CAST(n_gaps DIV 2 AS INT)) + element_at(sorted_gaps, CAST(n_gaps DIV 2 + 1 AS INT))) / 2
               END AS median_session_gap_days
        FROM s
        """.formatted(latestCols, agg, side);
  }
}
