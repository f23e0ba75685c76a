package io.github.personas.pipeline.features;

import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.engine.Fold;
import io.github.personas.pipeline.engine.KeyedPass;
import io.github.personas.pipeline.engine.PairedFold;
import io.github.personas.pipeline.io.Contract;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Per-user features as of the run date D: one row per user seen in events or profiles.
 *
 * <p>Events are folded into per-user aggregates ({@link UserAggregates}) in one pass, which is
 * the validation's own pass in a nightly run ({@link #fold}); the features are then derived in SQL
 * from those aggregates and the profiles. Events after the end of D (UTC) are ignored even if
 * the caller passes them: no look-ahead.
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
  /** Prefix of the earlier date's columns in the rows of {@link #foldWithEarlier}. */
  static final String EARLIER = "earlier_";

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
   * The per-user fold of accepted events (contract columns) into the aggregates the features
   * derive from, for a pass over events; give its rows to {@link #fromFolded}.
   *
   * @param spark the session, whose time zone event dates are read in
   */
  public Fold<?> fold(SparkSession spark) {
    return UserAggregates.fold(runDate, spark.conf().get("spark.sql.session.timeZone"), timezone, sessionWindows);
  }

  /**
   * {@link #fold} and the fold as of an earlier date in one pass: the rows of both feature
   * tables, for {@link #fromFolded} and {@link #earlierFromFolded}. A backtest needs the
   * features as they were at the earlier date, from the same code and without what came after.
   *
   * @param earlier the builder of the earlier date (same zone and windows)
   */
  public Fold<?> foldWithEarlier(SparkSession spark, FeatureBuilder earlier) {
    if (!earlier.runDate.isBefore(runDate) || !earlier.timezone.equals(timezone)
        || !earlier.sessionWindows.equals(sessionWindows)) {
      throw new IllegalArgumentException(String.format("The earlier features must be of a date before %s with the"
          + " same zone and windows, got %s", runDate, earlier.runDate));
    }
    return new PairedFold<>(fold(spark), earlier.fold(spark),
        "event_time < timestamp_micros(" + endMicros(earlier.runDate) + "L)", EARLIER);
  }

  private static long endMicros(LocalDate date) {
    return date.plusDays(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L;
  }

  /**
   * The features as of this builder's date from the rows of another builder's
   * {@link #foldWithEarlier}: the users seen by the end of this date (by an event or a profile's
   * install time), each as they were then. Profiles have no history: they are today's.
   *
   * <p>Not cached: its one reader (the propensity models) keeps the few columns it needs and
   * caches those, so the other features of the earlier date are never derived.
   */
  public Dataset<Row> earlierFromFolded(Dataset<Row> paired, Dataset<Row> profiles) {
    List<Column> cols = new ArrayList<>();
    cols.add(functions.col(USER_ID));
    for (String c : paired.columns()) {
      if (c.startsWith(EARLIER)) {
        cols.add(functions.col(c).as(c.substring(EARLIER.length())));
      }
    }
    Dataset<Row> folded = paired.select(cols.toArray(Column[]::new)).where("first_event_us IS NOT NULL");
    requireColumns(profiles, Contract.PROFILES);
    return derive(folded.select(perUserColumns(folded)), profiles)
        .where("first_seen < timestamp_micros(" + endMicros(runDate) + "L)");
  }

  /**
   * Builds the features table from accepted events, folding them in a pass of their own.
   *
   * @param events   accepted events with every contract column (the validator's output)
   * @param profiles accepted profiles with every contract column (may be empty)
   * @param caches   owner of the per-user aggregates this caches
   * @throws IllegalArgumentException when a contract column is missing from an input
   */
  public Dataset<Row> apply(Dataset<Row> events, Dataset<Row> profiles, Caches caches) {
    requireColumns(events, Contract.EVENTS);
    long endMicros = endMicros(runDate);
    // Accepted events are de-duplicated already: no key. Later events are not read (no look-ahead).
    KeyedPass.Spec spec = new KeyedPass.Spec(
        "CASE WHEN event_time < timestamp_micros(" + endMicros + "L) AND user_id IS NOT NULL THEN 'event'"
            + " ELSE 'later' END", "event", null, List.of(), null, List.of(), null, null, USER_ID, List.of());
    return fromFolded(KeyedPass.run(events, spec, fold(events.sparkSession()), caches).rows(), profiles, caches);
  }

  /**
   * Builds the features table from the rows of {@link #fold}: one per user.
   *
   * @param folded   user id and the fold's aggregates, one row per user
   * @param profiles accepted profiles with every contract column (may be empty)
   * @param caches   owner of the per-user aggregates this caches
   */
  public Dataset<Row> fromFolded(Dataset<Row> folded, Dataset<Row> profiles, Caches caches) {
    requireColumns(profiles, Contract.PROFILES);
    folded = folded.select(java.util.Arrays.stream(folded.columns()).filter(c -> !c.startsWith(EARLIER))
        .map(functions::col).toArray(Column[]::new));
    // Cached: the newest app version per platform and the features both read the aggregates,
    // which would otherwise be folded twice.
    return derive(caches.persist(folded.select(perUserColumns(folded))), profiles);
  }

  /** An empty features table: its columns and types, without reading anything (rules are checked against it). */
  public Dataset<Row> empty(SparkSession spark) {
    StructType perUser = new StructType().add(USER_ID, DataTypes.StringType, false);
    for (StructField f : fold(spark).output().fields()) {
      perUser = perUser.add(f);
    }
    Dataset<Row> none = spark.createDataFrame(List.of(), perUser);
    return derive(none.select(perUserColumns(none)), spark.createDataFrame(List.of(), Contract.PROFILES.schema()));
  }

  /** The aggregates' epoch-microsecond columns as timestamps and dates (in the session time zone). */
  private static Column[] perUserColumns(Dataset<Row> raw) {
    Map<String, String> times = Map.of(
        "first_event_us", "timestamp_micros(first_event_us) AS first_event",
        "last_seen_us", "timestamp_micros(last_seen_us) AS last_seen",
        "first_purchase_us", "to_date(timestamp_micros(first_purchase_us)) AS first_purchase_date",
        "last_purchase_us", "to_date(timestamp_micros(last_purchase_us)) AS last_purchase_date",
        "last_session_us", "to_date(timestamp_micros(last_session_us)) AS last_session_date",
        "install_event_us", "timestamp_micros(install_event_us) AS install_event_time",
        "last_uninstall_us", "timestamp_micros(last_uninstall_us) AS last_uninstall",
        "last_app_event_us", "timestamp_micros(last_app_event_us) AS last_app_event");
    return java.util.Arrays.stream(raw.columns())
        .map(c -> times.containsKey(c) ? functions.expr(times.get(c)) : functions.col(c))
        .toArray(Column[]::new);
  }

  /**
   * The features from per-user event aggregates and profiles.
   *
   * @param perUser  one row per user: the columns of {@link EventAggregates} with times converted
   * @param profiles accepted profiles
   */
  Dataset<Row> derive(Dataset<Row> perUser, Dataset<Row> profiles) {
    SparkSession spark = perUser.sparkSession();
    long id = VIEWS.incrementAndGet();
    String agg = "personas_features_users_" + id;
    String pr = "personas_features_profiles_" + id;
    perUser.createOrReplaceTempView(agg);
    profiles.createOrReplaceTempView(pr);
    try {
      return spark.sql(deriveSql(agg, pr));
    } finally {
      spark.catalog().dropTempView(agg);
      spark.catalog().dropTempView(pr);
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

  /** Derives the features from the per-user aggregates and profiles. */
  private String deriveSql(String agg, String pr) {
    String d = "DATE'" + runDate + "'";
    StringJoiner windowCols = new StringJoiner(", ");
    for (int w : sessionWindows) {
      windowCols.add("coalesce(s.sessions_" + w + "d, 0) AS sessions_" + w + "d");
    }
    StringBuilder asFeatures = new StringBuilder();
    UserAggregates.asFeatures(sessionWindows).forEach((c, none) ->
        asFeatures.append("\n               coalesce(s.").append(c).append(", ").append(none).append(") AS ").append(c).append(','));
    // The newest version per platform is a small aggregate joined back by broadcast: a window
    // partitioned by platform put all users into one task per platform.
    return """
        WITH newest AS (
          SELECT platform, max(transform(split(app_version, '[.]'), x -> try_cast(x AS INT))) AS newest_version
          FROM %3$s
          GROUP BY platform
        )
        SELECT /*+ BROADCAST(v) */ coalesce(s.user_id, p.user_id) AS user_id,
               least(s.first_event, coalesce(p.install_time, s.install_event_time)) AS first_seen,
               s.last_seen,
               datediff(%1$s, to_date(least(s.first_event, coalesce(p.install_time, s.install_event_time)))) AS tenure_days,
               datediff(%1$s, to_date(coalesce(p.install_time, s.install_event_time))) AS days_since_install,
               datediff(%1$s, s.last_purchase_date) AS recency_days,
               coalesce(s.frequency, 0) AS frequency,
               CAST(CAST(coalesce(s.purchase_revenue, 0D) AS DECIMAL(38, 4)) - CAST(coalesce(s.refund_amount, 0D) AS DECIMAL(38, 4)) AS DOUBLE) AS monetary,
               CASE WHEN s.frequency > 0 THEN s.purchase_revenue / s.frequency END AS avg_order_value,
               s.first_purchase_date,
               s.last_purchase_date,
               coalesce(s.refund_count, 0) AS refund_count,
               coalesce(s.refund_amount, 0D) AS refund_amount,
               %2$s,
               coalesce(s.active_days_30d, 0) AS active_days_30d,
               coalesce(s.active_days_prev_30d, 0) AS active_days_prev_30d,
               datediff(%1$s, s.last_session_date) AS days_since_last_session,
               datediff(%1$s, coalesce(s.last_session_date, s.last_purchase_date,
                 to_date(least(s.first_event, coalesce(p.install_time, s.install_event_time))))) AS days_inactive,
               s.median_session_gap_days,
               s.avg_session_duration_s,
               coalesce(s.session_duration_30d, 0D) AS total_session_duration_s_30d,
               coalesce(s.product_views_30d, 0) AS product_views_30d,
               coalesce(s.add_to_cart_30d, 0) AS add_to_cart_30d,
               coalesce(s.purchases_30d, 0) AS purchases_30d,
               CAST(CAST(coalesce(s.purchase_revenue_30d, 0D) AS DECIMAL(38, 4)) - CAST(coalesce(s.refund_amount_30d, 0D) AS DECIMAL(38, 4)) AS DOUBLE) AS revenue_30d,
               CASE WHEN s.add_to_cart_30d > 0 THEN CAST(s.purchases_30d AS DOUBLE) / s.add_to_cart_30d END AS cart_to_purchase_rate,
               coalesce(s.frequency, 0) > 0 AS is_buyer,
               CASE WHEN s.purchase_rows > 0 THEN CAST(s.night_purchases AS DOUBLE) / s.purchase_rows END AS night_purchase_share,
               CASE WHEN s.app_events > 0 THEN CAST(s.weekend_app_events AS DOUBLE) / s.app_events END AS weekend_share,
               s.top_category,
               s.top_category_share,
               coalesce(s.distinct_categories, 0) AS distinct_categories,
               coalesce(s.category_events, CAST(map() AS MAP<STRING, BIGINT>)) AS category_events,%5$s
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
                    THEN transform(split(s.app_version, '[.]'), x -> try_cast(x AS INT)) = v.newest_version
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
        FROM %3$s s
        LEFT JOIN newest v ON s.platform <=> v.platform
        FULL OUTER JOIN %4$s p ON s.user_id = p.user_id
        """.formatted(d, windowCols, agg, pr, asFeatures);
  }
}
