package io.github.personas.pipeline.features;

import java.time.LocalDate;
import java.util.Objects;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Per-user features as of the run date: one row per user seen in events or profiles.
 *
 * <p>Events are aggregated once per user; everything else is derived from that aggregate.
 * Distinct orders are counted with collect_set, not count(DISTINCT), which would make Spark
 * expand every event row once per distinct aggregate.
 * Definitions are in docs/features.md. Rates with a zero denominator are null.
 */
public final class FeatureBuilder {

  public static final String USER_ID = "user_id";
  public static final String RECENCY_DAYS = "recency_days";
  public static final String FREQUENCY = "frequency";
  public static final String MONETARY = "monetary";
  public static final String IS_BUYER = "is_buyer";

  private final LocalDate runDate;
  private final String timezone;

  /**
   * @param runDate  the as-of date D; the caller passes only events up to the end of D
   * @param timezone IANA zone in which time-of-day features (night purchases) are read
   */
  public FeatureBuilder(LocalDate runDate, String timezone) {
    this.runDate = Objects.requireNonNull(runDate, "runDate");
    this.timezone = Objects.requireNonNull(timezone, "timezone");
  }

  /**
   * Builds the features table.
   *
   * @param events   accepted events in contract columns
   * @param profiles accepted profiles in contract columns (may be empty)
   */
  public Dataset<Row> apply(Dataset<Row> events, Dataset<Row> profiles) {
    SparkSession spark = events.sparkSession();
    String ev = "features_events_" + Math.abs(System.identityHashCode(events));
    String pr = "features_profiles_" + Math.abs(System.identityHashCode(profiles));
    events.createOrReplaceTempView(ev);
    profiles.createOrReplaceTempView(pr);
    String d = "DATE'" + runDate + "'";
    String tz = timezone.replace("'", "");
    String sql = """
        WITH e AS (
          SELECT *,
                 event_name = 'purchase' AND revenue >= 0 AS is_purchase,
                 event_name = 'refund' OR (event_name = 'purchase' AND revenue < 0) AS is_refund,
                 to_date(event_time) AS event_date,
                 hour(from_utc_timestamp(event_time, '%2$s')) AS local_hour
          FROM %3$s
        ),
        agg AS (
          SELECT user_id,
                 min(event_time) AS first_event,
                 max(event_time) AS last_seen,
                 size(collect_set(CASE WHEN is_purchase THEN order_id END))
                   + count_if(is_purchase AND order_id IS NULL) AS frequency,
                 sum(CASE WHEN is_purchase THEN revenue END) AS purchase_revenue,
                 count_if(is_refund) AS refund_count,
                 coalesce(sum(CASE WHEN is_refund THEN abs(revenue) END), 0D) AS refund_amount,
                 to_date(min(CASE WHEN is_purchase THEN event_time END)) AS first_purchase_date,
                 to_date(max(CASE WHEN is_purchase THEN event_time END)) AS last_purchase_date,
                 count_if(is_purchase AND (local_hour >= 22 OR local_hour < 4)) AS night_purchases,
                 count_if(is_purchase) AS purchase_rows,
                 count_if(event_name = 'session_start' AND event_date > date_sub(%1$s, 7)) AS sessions_7d,
                 count_if(event_name = 'session_start' AND event_date > date_sub(%1$s, 30)) AS sessions_30d,
                 count_if(event_name = 'session_start' AND event_date > date_sub(%1$s, 90)) AS sessions_90d,
                 max(CASE WHEN event_name = 'session_start' THEN event_date END) AS last_session_date,
                 max(CASE WHEN event_name = 'install' THEN event_time END) AS install_event_time,
                 max(CASE WHEN event_name = 'uninstall' THEN event_time END) AS last_uninstall,
                 max(CASE WHEN event_name NOT IN ('uninstall', 'message_received') THEN event_time END) AS last_app_event,
                 max_by(platform, CASE WHEN platform IS NOT NULL THEN event_time END) AS platform,
                 max_by(country, CASE WHEN country IS NOT NULL THEN event_time END) AS event_country
          FROM e
          GROUP BY user_id
        ),
        p AS (SELECT user_id, install_time, country AS profile_country FROM %4$s)
        SELECT coalesce(agg.user_id, p.user_id) AS user_id,
               least(agg.first_event, coalesce(p.install_time, agg.install_event_time)) AS first_seen_raw,
               agg.last_seen,
               coalesce(p.install_time, agg.install_event_time) AS install_time,
               agg.first_purchase_date,
               agg.last_purchase_date,
               CASE WHEN agg.last_purchase_date IS NOT NULL THEN datediff(%1$s, agg.last_purchase_date) END AS recency_days,
               coalesce(agg.frequency, 0) AS frequency,
               coalesce(agg.purchase_revenue, 0D) - coalesce(agg.refund_amount, 0D) AS monetary,
               CASE WHEN agg.frequency > 0 THEN agg.purchase_revenue / agg.frequency END AS avg_order_value,
               coalesce(agg.refund_count, 0) AS refund_count,
               coalesce(agg.refund_amount, 0D) AS refund_amount,
               coalesce(agg.frequency, 0) > 0 AS is_buyer,
               coalesce(agg.sessions_7d, 0) AS sessions_7d,
               coalesce(agg.sessions_30d, 0) AS sessions_30d,
               coalesce(agg.sessions_90d, 0) AS sessions_90d,
               datediff(%1$s, agg.last_session_date) AS days_since_last_session,
               CASE WHEN agg.purchase_rows > 0 THEN agg.night_purchases / agg.purchase_rows END AS night_purchase_share,
               coalesce(agg.last_uninstall >= agg.last_app_event, agg.last_uninstall IS NOT NULL) AS uninstalled,
               agg.platform,
               coalesce(p.profile_country, agg.event_country) AS country
        FROM agg FULL OUTER JOIN p ON agg.user_id = p.user_id
        """.formatted(d, tz, ev, pr);
    Dataset<Row> raw = spark.sql(sql);
    return raw.selectExpr(
        "user_id",
        "coalesce(first_seen_raw, last_seen, install_time) AS first_seen",
        "last_seen",
        "CASE WHEN coalesce(first_seen_raw, install_time) IS NOT NULL THEN datediff(" + d
            + ", to_date(coalesce(first_seen_raw, install_time))) END AS tenure_days",
        "CASE WHEN install_time IS NOT NULL THEN datediff(" + d + ", to_date(install_time)) END AS days_since_install",
        "recency_days", "frequency", "monetary", "avg_order_value",
        "first_purchase_date", "last_purchase_date", "refund_count", "refund_amount", "is_buyer",
        "sessions_7d", "sessions_30d", "sessions_90d", "days_since_last_session",
        "night_purchase_share", "uninstalled", "platform", "country");
  }
}
