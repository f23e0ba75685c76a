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
 * Per-user features as of the run date D: one row per user seen in events or profiles.
 *
 * <p>Two passes over events, each a hash aggregate with fixed-width buffers (Spark sorts every
 * row for collect_set, count(DISTINCT) or a string max_by, which cost most of this stage): one
 * of counters per user (distinct active days as a 60-bit day mask), and a side pass for orders,
 * session times, categories and the latest device and place, first grouped per user and value.
 * Events after the end of D (UTC) are ignored even if the caller passes them: no look-ahead.
 *
 * <p>Every column is defined in docs/features.md; a test holds the two together. Rates with a
 * zero denominator are null, never NaN or 0.
 */
public final class FeatureBuilder {

  public static final String USER_ID = "user_id";
  public static final String RECENCY_DAYS = "recency_days";
  public static final String FREQUENCY = "frequency";
  public static final String MONETARY = "monetary";
  public static final String IS_BUYER = "is_buyer";

  /** Events that are a person using the app (not messaging, uninstalls or refunds). */
  static final String APP_EVENT = "event_name NOT IN ('message_received', 'message_open', 'message_click',"
      + " 'opt_out', 'uninstall', 'refund')";
  /** Events whose category says what a user is interested in. */
  static final String SHOPPING_EVENT = "event_name IN ('product_view', 'add_to_cart', 'purchase')";

  private static final AtomicLong VIEWS = new AtomicLong();

  private final LocalDate runDate;
  private final String timezone;
  private final List<Integer> sessionWindows;

  /**
   * @param runDate        the as-of date D
   * @param timezone       IANA zone in which time-of-day and weekday features are read
   * @param sessionWindows trailing windows in days for the sessions_&lt;N&gt;d columns
   */
  public FeatureBuilder(LocalDate runDate, String timezone, List<Integer> sessionWindows) {
    this.runDate = Objects.requireNonNull(runDate, "runDate");
    this.timezone = ZoneId.of(Objects.requireNonNull(timezone, "timezone")).getId();
    this.sessionWindows = List.copyOf(sessionWindows);
    if (this.sessionWindows.isEmpty()) {
      throw new IllegalArgumentException("At least one session window is needed");
    }
  }

  /** With the default session windows 7, 30 and 90 days. */
  public FeatureBuilder(LocalDate runDate, String timezone) {
    this(runDate, timezone, List.of(7, 30, 90));
  }

  /**
   * Builds the features table.
   *
   * @param events   accepted events with every contract column (the validator's output)
   * @param profiles accepted profiles with every contract column (may be empty)
   * @throws IllegalArgumentException when a contract column is missing from an input
   */
  public Dataset<Row> apply(Dataset<Row> events, Dataset<Row> profiles) {
    requireColumns(events, Contract.EVENTS);
    requireColumns(profiles, Contract.PROFILES);
    SparkSession spark = events.sparkSession();
    long id = VIEWS.incrementAndGet();
    String ev = "personas_features_events_" + id;
    String pr = "personas_features_profiles_" + id;
    events.createOrReplaceTempView(ev);
    profiles.createOrReplaceTempView(pr);
    String agg = "personas_features_users_" + id;
    String side = "personas_features_side_" + id;
    try {
      // Each aggregate is read once below (the newest app version per platform is a window over
      // the result, not a second read of an aggregate), so each pass over events runs once.
      spark.sql(aggregateSql(ev)).createOrReplaceTempView(agg);
      spark.sql(sideSql(ev)).createOrReplaceTempView(side);
      return spark.sql(deriveSql(agg, side, pr));
    } finally {
      spark.catalog().dropTempView(ev);
      spark.catalog().dropTempView(pr);
      spark.catalog().dropTempView(agg);
      spark.catalog().dropTempView(side);
    }
  }

  private static void requireColumns(Dataset<Row> df, Contract.Table table) {
    List<String> missing = new ArrayList<>(table.columnNames());
    missing.removeAll(List.of(df.columns()));
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(String.format(
          "The %s input of FeatureBuilder lacks contract columns %s; pass the accepted rows of ContractValidator,"
              + " which always have every contract column", table.name(), missing));
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
                 sum(CASE WHEN is_purchase THEN revenue END) AS purchase_revenue,
                 count_if(is_refund) AS refund_count,
                 sum(CASE WHEN is_refund THEN abs(revenue) END) AS refund_amount,
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
                 sum(CASE WHEN is_purchase AND in_30d THEN revenue END) AS purchase_revenue_30d,
                 sum(CASE WHEN is_refund AND in_30d THEN abs(revenue) END) AS refund_amount_30d,
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
                 max(CASE WHEN is_app_event THEN event_time END) AS last_app_event
          FROM e
          GROUP BY user_id
        """.formatted(windowAggregates(d), d);
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

  /** Derives the features from the per-user aggregates and profiles. */
  private String deriveSql(String agg, String side, String pr) {
    String d = "DATE'" + runDate + "'";
    StringJoiner latestCols = new StringJoiner(", ");
    for (String[] c : LATEST) {
      latestCols.add("su." + c[1]);
    }
    StringJoiner windowCols = new StringJoiner(", ");
    for (int w : sessionWindows) {
      windowCols.add("coalesce(s.sessions_" + w + "d, 0) AS sessions_" + w + "d");
    }
    return """
        WITH g AS (
          SELECT a.*, su.frequency, su.purchases_30d, su.session_times,
                 su.top_category, su.top_category_share, su.distinct_categories,
                 %2$s,
                 transform(slice(su.session_times, 2, greatest(size(su.session_times) - 1, 0)),
                   (t, i) -> (unix_micros(t) - unix_micros(element_at(su.session_times, i + 1))) / 86400000000D) AS gaps
          FROM %3$s a LEFT JOIN %10$s su ON a.user_id = su.user_id
        ),
        s AS (
          SELECT g.*, array_sort(gaps) AS sorted_gaps, size(gaps) AS n_gaps FROM g
        )
        SELECT coalesce(s.user_id, p.user_id) AS user_id,
               least(s.first_event, coalesce(p.install_time, s.install_event_time)) AS first_seen,
               s.last_seen,
               datediff(%1$s, to_date(least(s.first_event, coalesce(p.install_time, s.install_event_time)))) AS tenure_days,
               datediff(%1$s, to_date(coalesce(p.install_time, s.install_event_time))) AS days_since_install,
               datediff(%1$s, s.last_purchase_date) AS recency_days,
               coalesce(s.frequency, 0) AS frequency,
               coalesce(s.purchase_revenue, 0D) - coalesce(s.refund_amount, 0D) AS monetary,
               CASE WHEN s.frequency > 0 THEN s.purchase_revenue / s.frequency END AS avg_order_value,
               s.first_purchase_date,
               s.last_purchase_date,
               coalesce(s.refund_count, 0) AS refund_count,
               coalesce(s.refund_amount, 0D) AS refund_amount,
               %8$s,
               coalesce(s.active_days_30d, 0) AS active_days_30d,
               coalesce(s.active_days_prev_30d, 0) AS active_days_prev_30d,
               datediff(%1$s, s.last_session_date) AS days_since_last_session,
               CASE WHEN s.n_gaps = 0 THEN NULL
                    WHEN s.n_gaps %% 2 = 1 THEN element_at(s.sorted_gaps, CAST((s.n_gaps + 1) DIV 2 AS INT))
                    ELSE (element_at(s.sorted_gaps, CAST(s.n_gaps DIV 2 AS INT)) + element_at(s.sorted_gaps, CAST(s.n_gaps DIV 2 + 1 AS INT))) / 2
               END AS median_session_gap_days,
               s.avg_session_duration_s,
               coalesce(s.session_duration_30d, 0D) AS total_session_duration_s_30d,
               coalesce(s.product_views_30d, 0) AS product_views_30d,
               coalesce(s.add_to_cart_30d, 0) AS add_to_cart_30d,
               coalesce(s.purchases_30d, 0) AS purchases_30d,
               coalesce(s.purchase_revenue_30d, 0D) - coalesce(s.refund_amount_30d, 0D) AS revenue_30d,
               CASE WHEN s.add_to_cart_30d > 0 THEN CAST(s.purchases_30d AS DOUBLE) / s.add_to_cart_30d END AS cart_to_purchase_rate,
               coalesce(s.frequency, 0) > 0 AS is_buyer,
               CASE WHEN s.purchase_rows > 0 THEN CAST(s.night_purchases AS DOUBLE) / s.purchase_rows END AS night_purchase_share,
               CASE WHEN s.app_events > 0 THEN CAST(s.weekend_app_events AS DOUBLE) / s.app_events END AS weekend_share,
               s.top_category,
               s.top_category_share,
               coalesce(s.distinct_categories, 0) AS distinct_categories,
               coalesce(s.messages_received_30d, 0) AS messages_received_30d,
               CASE WHEN s.messages_received_30d > 0 THEN CAST(s.message_opens_30d AS DOUBLE) / s.messages_received_30d END AS message_open_rate,
               CASE WHEN s.messages_received_30d > 0 THEN CAST(s.message_clicks_30d AS DOUBLE) / s.messages_received_30d END AS message_click_rate,
               p.push_opt_in,
               p.email_opt_in,
               p.sms_opt_in,
               coalesce(s.has_opt_out_event, false)
                 OR coalesce(NOT p.push_opt_in AND NOT p.email_opt_in AND NOT p.sms_opt_in, false) AS opted_out,
               s.platform,
               s.os_version,
               s.app_version,
               s.device_model,
               CASE WHEN s.app_version IS NOT NULL
                    THEN transform(split(s.app_version, '[.]'), x -> try_cast(x AS INT))
                      = max(transform(split(s.app_version, '[.]'), x -> try_cast(x AS INT))) OVER (PARTITION BY s.platform)
               END AS on_latest_app_version,
               coalesce(s.last_uninstall >= s.last_app_event, s.last_uninstall IS NOT NULL) AS uninstalled,
               CASE WHEN year(%1$s) - p.birth_year BETWEEN 0 AND 120 THEN year(%1$s) - p.birth_year END AS age,
               p.gender,
               coalesce(p.country, s.event_country) AS country,
               coalesce(p.region, s.event_region) AS region,
               coalesce(p.city, s.event_city) AS city,
               p.language,
               p.income_band,
               p.interests
        FROM s
        FULL OUTER JOIN %9$s p ON s.user_id = p.user_id
        """.formatted(d, latestCols, agg, "", 0L, "", "", windowCols.toString(), pr, side);
  }
}
