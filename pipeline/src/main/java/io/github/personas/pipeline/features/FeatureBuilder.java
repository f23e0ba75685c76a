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
import org.apache.spark.storage.StorageLevel;

/**
 * Per-user features as of the run date D: one row per user seen in events or profiles.
 *
 * <p>Events are aggregated once per user and everything else is derived from that aggregate;
 * two small side aggregates (event counts per user and category, the newest app version per
 * platform) are joined back. Distinct orders and days are counted with collect_set rather than
 * count(DISTINCT), which would make Spark expand every event row once per distinct aggregate.
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
    try {
      // The per-user aggregate feeds both the result and the newest-version lookup; cached so
      // the one pass over events is not run twice.
      spark.sql(aggregateSql(ev)).persist(StorageLevel.MEMORY_AND_DISK()).createOrReplaceTempView(agg);
      return spark.sql(deriveSql(ev, agg, pr));
    } finally {
      spark.catalog().dropTempView(ev);
      spark.catalog().dropTempView(pr);
      spark.catalog().dropTempView(agg);
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
                 size(collect_set(CASE WHEN is_purchase THEN order_id END))
                   + count_if(is_purchase AND order_id IS NULL) AS frequency,
                 sum(CASE WHEN is_purchase THEN revenue END) AS purchase_revenue,
                 count_if(is_refund) AS refund_count,
                 sum(CASE WHEN is_refund THEN abs(revenue) END) AS refund_amount,
                 to_date(min(CASE WHEN is_purchase THEN event_time END)) AS first_purchase_date,
                 to_date(max(CASE WHEN is_purchase THEN event_time END)) AS last_purchase_date,
                 %1$s,
                 size(collect_set(CASE WHEN is_app_event AND in_30d THEN event_date END)) AS active_days_30d,
                 size(collect_set(CASE WHEN is_app_event AND NOT in_30d AND event_date > date_sub(%2$s, 60)
                   THEN event_date END)) AS active_days_prev_30d,
                 max(CASE WHEN event_name = 'session_start' THEN event_date END) AS last_session_date,
                 array_sort(collect_list(CASE WHEN event_name = 'session_start' THEN event_time END)) AS session_times,
                 avg(CASE WHEN event_name = 'session_start' THEN duration_s END) AS avg_session_duration_s,
                 sum(CASE WHEN event_name = 'session_start' AND in_30d THEN duration_s END) AS session_duration_30d,
                 count_if(event_name = 'product_view' AND in_30d) AS product_views_30d,
                 count_if(event_name = 'add_to_cart' AND in_30d) AS add_to_cart_30d,
                 size(collect_set(CASE WHEN is_purchase AND in_30d THEN order_id END))
                   + count_if(is_purchase AND in_30d AND order_id IS NULL) AS purchases_30d,
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
                 max(CASE WHEN is_app_event THEN event_time END) AS last_app_event,
                 max_by(platform, CASE WHEN platform IS NOT NULL THEN event_time END) AS platform,
                 max_by(os_version, CASE WHEN os_version IS NOT NULL THEN event_time END) AS os_version,
                 max_by(app_version, CASE WHEN app_version IS NOT NULL THEN event_time END) AS app_version,
                 max_by(device_model, CASE WHEN device_model IS NOT NULL THEN event_time END) AS device_model,
                 max_by(country, CASE WHEN country IS NOT NULL THEN event_time END) AS event_country,
                 max_by(region, CASE WHEN region IS NOT NULL THEN event_time END) AS event_region,
                 max_by(city, CASE WHEN city IS NOT NULL THEN event_time END) AS event_city
          FROM e
          GROUP BY user_id
        """.formatted(windowAggregates(d), d);
  }

  /** Derives the features from the per-user aggregate, profiles and the category counts. */
  private String deriveSql(String ev, String agg, String pr) {
    String d = "DATE'" + runDate + "'";
    StringJoiner windowCols = new StringJoiner(", ");
    for (int w : sessionWindows) {
      windowCols.add("coalesce(s.sessions_" + w + "d, 0) AS sessions_" + w + "d");
    }
    return "WITH " + eventsCte(ev) + ",\n" + """
        category_counts AS (
          SELECT user_id, category, count(*) AS n
          FROM e WHERE category IS NOT NULL AND %7$s
          GROUP BY user_id, category
        ),
        c AS (
          SELECT user_id,
                 sort_array(collect_list(struct(-n AS neg_n, category)))[0].category AS top_category,
                 CAST(max(n) AS DOUBLE) / sum(n) AS top_category_share,
                 count(*) AS distinct_categories
          FROM category_counts GROUP BY user_id
        ),
        latest AS (
          SELECT platform, max(transform(split(app_version, '[.]'), x -> try_cast(x AS INT))) AS newest
          FROM %10$s WHERE app_version IS NOT NULL GROUP BY platform
        ),
        g AS (
          SELECT a.*,
                 transform(slice(session_times, 2, greatest(size(session_times) - 1, 0)),
                   (t, i) -> (unix_micros(t) - unix_micros(element_at(session_times, i + 1))) / 86400000000D) AS gaps
          FROM %10$s a
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
               c.top_category,
               c.top_category_share,
               coalesce(c.distinct_categories, 0) AS distinct_categories,
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
                    THEN transform(split(s.app_version, '[.]'), x -> try_cast(x AS INT)) = latest.newest END AS on_latest_app_version,
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
        LEFT JOIN c ON c.user_id = coalesce(s.user_id, p.user_id)
        LEFT JOIN latest ON latest.platform <=> s.platform
        """.formatted(d, timezone, ev, "", 0L, APP_EVENT, SHOPPING_EVENT, windowCols.toString(), pr, agg);
  }
}
