package io.github.personas.pipeline.features;

import static org.apache.spark.sql.functions.col;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import io.github.personas.pipeline.validate.RowFold;

/**
 * Everything per user that the features derive from, in one pass over events.
 *
 * <p>A hand-written hash aggregation: each input partition folds its events into one state per
 * user (flushed every {@value #MAX_USERS_PER_FLUSH} users, so memory is bounded whatever the
 * order of the events), the states are shuffled by user as bytes, sorted, and merged. Spark SQL's
 * own aggregates needed two passes and a per-session side aggregate for the same result, because
 * distinct orders, session times, category counts and latest strings do not fit its fixed-width
 * hash aggregation buffers; that cost three times this pass at 50M events. The definitions are
 * the SQL in the test class {@code SqlReferenceFeatures}, and a test holds the two together.
 *
 * <p>Input: the rows of {@link #inputSql}, read as Spark's internal rows in the column order of
 * {@link #INPUT_COLUMNS}. Output ({@link #fromStates}): one row per user, times as epoch
 * microseconds, which {@link FeatureBuilder} turns into timestamps and dates in SQL so the
 * session time zone applies exactly as before.
 */
final class EventAggregates {

  /** Users held per input partition before their states are written out and the map cleared. */
  static final int MAX_USERS_PER_FLUSH = 50_000;

  // Bits of the flags column: what kind of event a row is (conditions in FLAG_SQL).
  static final int PURCHASE = 1;
  static final int REFUND = 1 << 1;
  static final int APP = 1 << 2;
  static final int SESSION = 1 << 3;
  static final int PRODUCT_VIEW = 1 << 4;
  static final int ADD_TO_CART = 1 << 5;
  static final int MESSAGE_RECEIVED = 1 << 6;
  static final int MESSAGE_OPEN = 1 << 7;
  static final int MESSAGE_CLICK = 1 << 8;
  static final int OPT_OUT = 1 << 9;
  static final int INSTALL = 1 << 10;
  static final int UNINSTALL = 1 << 11;
  static final int SHOPPING = 1 << 12;

  /** The SQL condition of each flag bit, over contract columns. */
  private static final Map<Integer, String> FLAG_SQL = new LinkedHashMap<>();

  static {
    FLAG_SQL.put(PURCHASE, "event_name = 'purchase' AND revenue >= 0");
    FLAG_SQL.put(REFUND, "event_name = 'refund' OR (event_name = 'purchase' AND revenue < 0)");
    FLAG_SQL.put(APP, FeatureBuilder.APP_EVENT);
    FLAG_SQL.put(SESSION, "event_name = 'session_start'");
    FLAG_SQL.put(PRODUCT_VIEW, "event_name = 'product_view'");
    FLAG_SQL.put(ADD_TO_CART, "event_name = 'add_to_cart'");
    FLAG_SQL.put(MESSAGE_RECEIVED, "event_name = 'message_received'");
    FLAG_SQL.put(MESSAGE_OPEN, "event_name = 'message_open'");
    FLAG_SQL.put(MESSAGE_CLICK, "event_name = 'message_click'");
    FLAG_SQL.put(OPT_OUT, "event_name = 'opt_out'");
    FLAG_SQL.put(INSTALL, "event_name = 'install'");
    FLAG_SQL.put(UNINSTALL, "event_name = 'uninstall'");
    FLAG_SQL.put(SHOPPING, FeatureBuilder.SHOPPING_EVENT);
  }

  /** Contract columns whose latest non-null value per user is kept, and their output names. */
  static final String[][] LATEST = {
      {"platform", "platform"}, {"os_version", "os_version"}, {"app_version", "app_version"},
      {"device_model", "device_model"}, {"country", "event_country"}, {"region", "event_region"},
      {"city", "event_city"}};

  /**
   * The input columns, in order: user, event time (epoch µs), flags, revenue, session duration,
   * order id, category, then the {@link #LATEST} columns.
   */
  static final List<String> INPUT_COLUMNS;
  /** The Spark SQL expressions of the input columns over contract columns, each named as in {@link #INPUT_COLUMNS}. */
  private static final List<String> INPUT_SQL;

  static {
    StringBuilder flags = new StringBuilder();
    FLAG_SQL.forEach((bit, cond) -> flags.append(flags.isEmpty() ? "" : " | ")
        .append("(CASE WHEN ").append(cond).append(" THEN ").append(bit).append(" ELSE 0 END)"));
    // Column name -> its SQL over the contract columns.
    Map<String, String> input = new LinkedHashMap<>();
    input.put("user_id", "user_id");
    input.put("t", "unix_micros(event_time)");
    input.put("flags", flags.toString());
    for (String c : List.of("revenue", "duration_s", "order_id", "category")) {
      input.put(c, c);
    }
    for (String[] l : LATEST) {
      input.put(l[0], l[0]);
    }
    INPUT_COLUMNS = List.copyOf(input.keySet());
    INPUT_SQL = input.entrySet().stream().map(e -> e.getValue() + " AS " + e.getKey()).toList();
  }

  private static final int USER = 0;
  private static final int TIME = 1;
  private static final int FLAGS = 2;
  private static final int REVENUE = 3;
  private static final int DURATION = 4;
  private static final int ORDER = 5;
  private static final int CATEGORY = 6;
  private static final int FIRST_LATEST = 7;

  private static final StructType PARTIAL = new StructType()
      .add("user_id", DataTypes.StringType, false)
      .add("state", DataTypes.BinaryType, false);

  private final java.time.LocalDate runDate;
  private final String timezone;
  private final List<Integer> sessionWindows;
  private final int maxUsersPerFlush;
  private final StructType output;

  /**
   * @param runDate          the run date D
   * @param timezone         IANA zone of the local hour and weekday
   * @param sessionWindows   trailing windows in days for the sessions_&lt;N&gt;d counts
   * @param maxUsersPerFlush users held per input partition before their partial states are
   *                         written out (tests use a few to exercise the merge)
   */
  EventAggregates(java.time.LocalDate runDate, String timezone, List<Integer> sessionWindows, int maxUsersPerFlush) {
    if (maxUsersPerFlush < 1) {
      throw new IllegalArgumentException("maxUsersPerFlush must be at least 1, got " + maxUsersPerFlush);
    }
    this.runDate = runDate;
    this.timezone = timezone;
    this.sessionWindows = List.copyOf(sessionWindows);
    this.maxUsersPerFlush = maxUsersPerFlush;
    StructType o = new StructType()
        .add("user_id", DataTypes.StringType, false)
        .add("first_event_us", DataTypes.LongType)
        .add("last_seen_us", DataTypes.LongType)
        .add("purchase_revenue", DataTypes.DoubleType)
        .add("refund_count", DataTypes.LongType, false)
        .add("refund_amount", DataTypes.DoubleType)
        .add("first_purchase_us", DataTypes.LongType)
        .add("last_purchase_us", DataTypes.LongType);
    for (int w : this.sessionWindows) {
      o = o.add("sessions_" + w + "d", DataTypes.LongType, false);
    }
    o = o.add("active_days_30d", DataTypes.IntegerType, false)
        .add("active_days_prev_30d", DataTypes.IntegerType, false)
        .add("last_session_us", DataTypes.LongType)
        .add("avg_session_duration_s", DataTypes.DoubleType)
        .add("session_duration_30d", DataTypes.DoubleType)
        .add("product_views_30d", DataTypes.LongType, false)
        .add("add_to_cart_30d", DataTypes.LongType, false)
        .add("purchase_revenue_30d", DataTypes.DoubleType)
        .add("refund_amount_30d", DataTypes.DoubleType)
        .add("night_purchases", DataTypes.LongType, false)
        .add("purchase_rows", DataTypes.LongType, false)
        .add("weekend_app_events", DataTypes.LongType, false)
        .add("app_events", DataTypes.LongType, false)
        .add("messages_received_30d", DataTypes.LongType, false)
        .add("message_opens_30d", DataTypes.LongType, false)
        .add("message_clicks_30d", DataTypes.LongType, false)
        .add("has_opt_out_event", DataTypes.BooleanType, false)
        .add("install_event_us", DataTypes.LongType)
        .add("last_uninstall_us", DataTypes.LongType)
        .add("last_app_event_us", DataTypes.LongType)
        .add("frequency", DataTypes.LongType, false)
        .add("purchases_30d", DataTypes.LongType, false)
        .add("median_session_gap_days", DataTypes.DoubleType)
        .add("top_category", DataTypes.StringType)
        .add("top_category_share", DataTypes.DoubleType)
        .add("distinct_categories", DataTypes.LongType, false);
    for (String[] l : LATEST) {
      o = o.add(l[1], DataTypes.StringType);
    }
    this.output = o;
  }

  /**
   * The input query over a view of contract events: the {@link #INPUT_COLUMNS} of the events before
   * {@code endMicros}.
   *
   * @param view      the events view
   * @param endMicros the end of the run date (UTC) in epoch µs; later events are left out
   */
  String inputSql(String view, long endMicros) {
    return "SELECT " + String.join(", ", INPUT_SQL) + " FROM " + view
        + " WHERE event_time < timestamp_micros(" + endMicros + "L)";
  }

  /**
   * The fold of events into per-user states, for {@link #apply} or for the validator's pass
   * ({@link io.github.personas.pipeline.validate.ContractValidator#events(
   * io.github.personas.pipeline.config.SourceConfig, RowFold)}).
   *
   * @param sessionZone the Spark session time zone, in which event dates are read as
   *                    {@code to_date(event_time)} reads them
   */
  RowFold fold(String sessionZone) {
    return new UserFold(INPUT_SQL, sessionWindows.stream().mapToInt(Integer::intValue).toArray(),
        maxUsersPerFlush, new Clock(sessionZone, timezone, runDate));
  }

  /**
   * Aggregates the rows of {@link #inputSql} per user.
   *
   * @param input the input query's result, columns exactly {@link #INPUT_COLUMNS}
   * @return one row per user, as {@link #fromStates} makes it
   */
  Dataset<Row> apply(Dataset<Row> input) {
    if (!List.of(input.columns()).equals(INPUT_COLUMNS)) {
      throw new IllegalArgumentException(String.format(
          "EventAggregates needs the columns %s in this order, got %s", INPUT_COLUMNS, List.of(input.columns())));
    }
    SparkSession spark = input.sparkSession();
    RowFold fold = fold(spark.conf().get("spark.sql.session.timeZone"));
    // Internal rows: converting every event to an external Row (Java strings and timestamps)
    // would cost more than the aggregation itself.
    Dataset<Row> partial = spark.createDataFrame(
        input.queryExecution().toRdd().toJavaRDD().mapPartitions(new FoldPartition(fold)), PARTIAL);
    return fromStates(partial.repartition(col("user_id")).sortWithinPartitions("user_id")
        .mapPartitions(new MergeSorted(fold), Encoders.row(PARTIAL)));
  }

  /**
   * The output rows from merged states.
   *
   * @param states one row per user: user id and the merged state of its {@link #fold}
   */
  Dataset<Row> fromStates(Dataset<Row> states) {
    int[] days = sessionWindows.stream().mapToInt(Integer::intValue).toArray();
    return states.map((org.apache.spark.api.java.function.MapFunction<Row, Row>)
        r -> UserState.fromBytes(r.getAs(1), days.length).toRow(r.getString(0), days), Encoders.row(output));
  }

  /** The per-user fold: a hash map of states, written out every {@code maxUsers} users. */
  private static final class UserFold implements RowFold {
    private final List<String> columns;
    private final int[] windows;
    private final int maxUsers;
    private final Clock clock;

    UserFold(List<String> columns, int[] windows, int maxUsers, Clock clock) {
      this.columns = columns;
      this.windows = windows;
      this.maxUsers = maxUsers;
      this.clock = clock;
    }

    @Override
    public List<String> columns() {
      return columns;
    }

    @Override
    public byte[] merge(List<byte[]> states) {
      if (states.size() == 1) {
        return states.get(0);
      }
      UserState merged = UserState.fromBytes(states.get(0), windows.length);
      for (int i = 1; i < states.size(); i++) {
        merged.merge(UserState.fromBytes(states.get(i), windows.length));
      }
      return merged.toBytes();
    }

    @Override
    public Folder newFolder() {
      return new Folder() {
        private final Map<UTF8String, UserState> users = new HashMap<>();
        private UTF8String lastKey;
        private UserState last;

        @Override
        public void add(InternalRow r, int offset) {
          UTF8String user = r.getUTF8String(offset + USER);
          // Events of one user often come together: skip the hash lookup then.
          if (last == null || !user.equals(lastKey)) {
            lastKey = user.clone();
            last = users.get(lastKey);
            if (last == null) {
              last = new UserState(windows.length);
              users.put(lastKey, last);
            }
          }
          last.add(r, offset, windows, clock);
        }

        @Override
        public boolean full() {
          return users.size() >= maxUsers;
        }

        @Override
        public List<Map.Entry<String, byte[]>> drain() {
          List<Map.Entry<String, byte[]>> out = new ArrayList<>(users.size());
          users.forEach((k, v) -> out.add(Map.entry(k.toString(), v.toBytes())));
          users.clear();
          last = null;
          lastKey = null;
          return out;
        }
      };
    }
  }

  /** Folds one input partition into partial per-user states. */
  private static final class FoldPartition implements FlatMapFunction<Iterator<InternalRow>, Row> {
    private final RowFold fold;

    FoldPartition(RowFold fold) {
      this.fold = fold;
    }

    @Override
    public Iterator<Row> call(Iterator<InternalRow> rows) {
      RowFold.Folder folder = fold.newFolder();
      return new Iterator<>() {
        private Iterator<Map.Entry<String, byte[]>> flushing = java.util.Collections.emptyIterator();

        @Override
        public boolean hasNext() {
          while (!flushing.hasNext()) {
            if (!rows.hasNext()) {
              return false;
            }
            while (rows.hasNext() && !folder.full()) {
              folder.add(rows.next(), 0);
            }
            flushing = folder.drain().iterator();
          }
          return true;
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          Map.Entry<String, byte[]> e = flushing.next();
          return RowFactory.create(e.getKey(), e.getValue());
        }
      };
    }
  }

  /** Merges the partial states of each user (rows sorted by user) into one row per user. */
  private static final class MergeSorted implements MapPartitionsFunction<Row, Row> {
    private final RowFold fold;

    MergeSorted(RowFold fold) {
      this.fold = fold;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
      return fold.mergeRuns(rows.hasNext() ? rows.next() : null, rows, 0, 1, RowFactory::create);
    }
  }

  /**
   * Dates, hours and weekdays of event times, computed as Spark SQL computes
   * {@code datediff(D, to_date(event_time))}, {@code hour(from_utc_timestamp(event_time, tz))} and
   * {@code dayofweek(from_utc_timestamp(event_time, tz))} under the session time zone, from zone
   * offsets instead of a java.time date per call (those expressions were a third of the pass).
   */
  static final class Clock implements java.io.Serializable {
    private static final long SECONDS_PER_DAY = 86_400L;
    private final String sessionZone;
    private final String localZone;
    private final long runDay;
    private transient java.time.zone.ZoneRules session;
    private transient java.time.zone.ZoneRules local;

    /**
     * @param sessionZone the Spark session time zone
     * @param localZone   the zone of local hours and weekdays
     * @param runDate     the run date D
     */
    Clock(String sessionZone, String localZone, java.time.LocalDate runDate) {
      this.sessionZone = sessionZone;
      this.localZone = localZone;
      this.runDay = runDate.toEpochDay();
    }

    private static java.time.zone.ZoneRules rules(String zone) {
      return java.time.ZoneId.of(zone, java.time.ZoneId.SHORT_IDS).getRules();
    }

    private static long offset(java.time.zone.ZoneRules rules, long epochSecond) {
      return rules.isFixedOffset() ? rules.getOffset(java.time.Instant.EPOCH).getTotalSeconds()
          : rules.getOffset(java.time.Instant.ofEpochSecond(epochSecond)).getTotalSeconds();
    }

    private long sessionWall(long epochSecond) {
      if (session == null) {
        session = rules(sessionZone);
      }
      return epochSecond + offset(session, epochSecond);
    }

    /** Days from the event's date (session time zone) to the run date: 0 on the run date. */
    int age(long micros) {
      return (int) (runDay - Math.floorDiv(sessionWall(Math.floorDiv(micros, 1_000_000L)), SECONDS_PER_DAY));
    }

    /** from_utc_timestamp: the local wall clock, read as a UTC time, then shown in the session zone. */
    private long localWall(long micros) {
      if (local == null) {
        local = rules(localZone);
      }
      long s = Math.floorDiv(micros, 1_000_000L);
      return sessionWall(s + offset(local, s));
    }

    /** Hour of day, 0 to 23, in the local zone. */
    int localHour(long micros) {
      return (int) (Math.floorMod(localWall(micros), SECONDS_PER_DAY) / 3600);
    }

    /** Day of week in the local zone, 1 = Sunday to 7 = Saturday, as Spark's dayofweek. */
    int localDayOfWeek(long micros) {
      // 1970-01-01, day 0, was a Thursday (5).
      return (int) Math.floorMod(Math.floorDiv(localWall(micros), SECONDS_PER_DAY) + 4, 7) + 1;
    }
  }

  /** The running aggregates of one user; "none" is Long.MAX_VALUE for minima, Long.MIN_VALUE for maxima. */
  static final class UserState {
    private static final long NONE_MIN = Long.MAX_VALUE;
    private static final long NONE_MAX = Long.MIN_VALUE;
    private static final double MICROS_PER_DAY = 86_400_000_000D;

    long firstEvent = NONE_MIN;
    long lastSeen = NONE_MAX;
    final Sum purchaseRevenue = new Sum();
    long refundCount;
    final Sum refundAmount = new Sum();
    long firstPurchase = NONE_MIN;
    long lastPurchase = NONE_MAX;
    final long[] sessions;
    long activeDays30;
    long activeDaysPrev30;
    long lastSession = NONE_MAX;
    final Sum sessionDuration = new Sum();
    final Sum sessionDuration30 = new Sum();
    long productViews30;
    long addToCart30;
    final Sum purchaseRevenue30 = new Sum();
    final Sum refundAmount30 = new Sum();
    long nightPurchases;
    long purchaseRows;
    long weekendAppEvents;
    long appEvents;
    long messagesReceived30;
    long messageOpens30;
    long messageClicks30;
    boolean optOut;
    long installEvent = NONE_MIN;
    long lastUninstall = NONE_MAX;
    long lastAppEvent = NONE_MAX;
    /** Distinct order ids of purchases, each true when one of its lines is in the last 30 days. */
    final Map<UTF8String, Boolean> orders = new HashMap<>();
    long ordersWithoutId;
    long ordersWithoutId30;
    long[] sessionTimes = new long[4];
    int sessionCount;
    final Map<UTF8String, long[]> categories = new HashMap<>();
    final long[] latestTime = new long[LATEST.length];
    final UTF8String[] latest = new UTF8String[LATEST.length];

    UserState(int windows) {
      sessions = new long[windows];
      Arrays.fill(latestTime, NONE_MAX);
    }

    void add(InternalRow r, int o, int[] windows, Clock clock) {
      long t = r.getLong(o + TIME);
      int age = clock.age(t);
      int flags = r.getInt(o + FLAGS);
      boolean in30 = age < 30;
      firstEvent = Math.min(firstEvent, t);
      lastSeen = Math.max(lastSeen, t);
      if ((flags & PURCHASE) != 0) {
        double revenue = r.getDouble(o + REVENUE);
        purchaseRows++;
        purchaseRevenue.add(revenue);
        firstPurchase = Math.min(firstPurchase, t);
        lastPurchase = Math.max(lastPurchase, t);
        int hour = clock.localHour(t);
        if (hour >= 22 || hour < 4) {
          nightPurchases++;
        }
        if (in30) {
          purchaseRevenue30.add(revenue);
        }
        if (r.isNullAt(o + ORDER)) {
          ordersWithoutId++;
          ordersWithoutId30 += in30 ? 1 : 0;
        } else {
          UTF8String order = r.getUTF8String(o + ORDER);
          Boolean seen = orders.get(order);
          if (seen == null) {
            orders.put(order.clone(), in30);
          } else if (in30 && !seen) {
            orders.put(order.clone(), true);
          }
        }
      }
      if ((flags & REFUND) != 0) {
        refundCount++;
        if (!r.isNullAt(o + REVENUE)) {
          double amount = Math.abs(r.getDouble(o + REVENUE));
          refundAmount.add(amount);
          if (in30) {
            refundAmount30.add(amount);
          }
        }
      }
      if ((flags & APP) != 0) {
        appEvents++;
        int dow = clock.localDayOfWeek(t);
        if (dow == 1 || dow == 7) {
          weekendAppEvents++;
        }
        lastAppEvent = Math.max(lastAppEvent, t);
        // Java's shift takes the distance mod 64, as Spark's shiftleft does.
        if (in30) {
          activeDays30 |= 1L << age;
        } else if (age < 60) {
          activeDaysPrev30 |= 1L << (age - 30);
        }
      }
      if ((flags & SESSION) != 0) {
        for (int i = 0; i < windows.length; i++) {
          if (age < windows[i]) {
            sessions[i]++;
          }
        }
        lastSession = Math.max(lastSession, t);
        if (!r.isNullAt(o + DURATION)) {
          double d = r.getDouble(o + DURATION);
          sessionDuration.add(d);
          if (in30) {
            sessionDuration30.add(d);
          }
        }
        addSessionTime(t);
      }
      if (in30) {
        productViews30 += (flags & PRODUCT_VIEW) != 0 ? 1 : 0;
        addToCart30 += (flags & ADD_TO_CART) != 0 ? 1 : 0;
        messagesReceived30 += (flags & MESSAGE_RECEIVED) != 0 ? 1 : 0;
        messageOpens30 += (flags & MESSAGE_OPEN) != 0 ? 1 : 0;
        messageClicks30 += (flags & MESSAGE_CLICK) != 0 ? 1 : 0;
      }
      if ((flags & OPT_OUT) != 0) {
        optOut = true;
      }
      if ((flags & INSTALL) != 0) {
        installEvent = Math.min(installEvent, t);
      }
      if ((flags & UNINSTALL) != 0) {
        lastUninstall = Math.max(lastUninstall, t);
      }
      if ((flags & SHOPPING) != 0 && !r.isNullAt(o + CATEGORY)) {
        UTF8String category = r.getUTF8String(o + CATEGORY);
        long[] n = categories.get(category);
        if (n == null) {
          categories.put(category.clone(), new long[] {1});
        } else {
          n[0]++;
        }
      }
      for (int i = 0; i < LATEST.length; i++) {
        if (!r.isNullAt(o + FIRST_LATEST + i)) {
          offerLatest(i, t, r.getUTF8String(o + FIRST_LATEST + i));
        }
      }
    }

    /** Keeps the value of the latest event; of two at the same time, the larger value, so the result is deterministic. */
    private void offerLatest(int i, long t, UTF8String value) {
      if (t > latestTime[i] || (t == latestTime[i] && value.compareTo(latest[i]) > 0)) {
        if (latest[i] == null || !latest[i].equals(value)) {
          latest[i] = value.clone();
        }
        latestTime[i] = t;
      }
    }

    private void addSessionTime(long t) {
      if (sessionCount == sessionTimes.length) {
        sessionTimes = Arrays.copyOf(sessionTimes, sessionCount * 2);
      }
      sessionTimes[sessionCount++] = t;
    }

    void merge(UserState o) {
      firstEvent = Math.min(firstEvent, o.firstEvent);
      lastSeen = Math.max(lastSeen, o.lastSeen);
      purchaseRevenue.merge(o.purchaseRevenue);
      refundCount += o.refundCount;
      refundAmount.merge(o.refundAmount);
      firstPurchase = Math.min(firstPurchase, o.firstPurchase);
      lastPurchase = Math.max(lastPurchase, o.lastPurchase);
      for (int i = 0; i < sessions.length; i++) {
        sessions[i] += o.sessions[i];
      }
      activeDays30 |= o.activeDays30;
      activeDaysPrev30 |= o.activeDaysPrev30;
      lastSession = Math.max(lastSession, o.lastSession);
      sessionDuration.merge(o.sessionDuration);
      sessionDuration30.merge(o.sessionDuration30);
      productViews30 += o.productViews30;
      addToCart30 += o.addToCart30;
      purchaseRevenue30.merge(o.purchaseRevenue30);
      refundAmount30.merge(o.refundAmount30);
      nightPurchases += o.nightPurchases;
      purchaseRows += o.purchaseRows;
      weekendAppEvents += o.weekendAppEvents;
      appEvents += o.appEvents;
      messagesReceived30 += o.messagesReceived30;
      messageOpens30 += o.messageOpens30;
      messageClicks30 += o.messageClicks30;
      optOut |= o.optOut;
      installEvent = Math.min(installEvent, o.installEvent);
      lastUninstall = Math.max(lastUninstall, o.lastUninstall);
      lastAppEvent = Math.max(lastAppEvent, o.lastAppEvent);
      o.orders.forEach((order, in30) -> orders.merge(order, in30, Boolean::logicalOr));
      ordersWithoutId += o.ordersWithoutId;
      ordersWithoutId30 += o.ordersWithoutId30;
      for (int i = 0; i < o.sessionCount; i++) {
        addSessionTime(o.sessionTimes[i]);
      }
      o.categories.forEach((c, n) -> categories.merge(c, n, (a, b) -> new long[] {a[0] + b[0]}));
      for (int i = 0; i < LATEST.length; i++) {
        if (o.latest[i] != null) {
          offerLatest(i, o.latestTime[i], o.latest[i]);
        }
      }
    }

    /** The output row: derived values (distinct orders, median gap, top category) computed here. */
    Row toRow(String user, int[] windows) {
      List<Object> v = new ArrayList<>();
      v.add(user);
      v.add(orNull(firstEvent, NONE_MIN));
      v.add(orNull(lastSeen, NONE_MAX));
      v.add(purchaseRevenue.value());
      v.add(refundCount);
      v.add(refundAmount.value());
      v.add(orNull(firstPurchase, NONE_MIN));
      v.add(orNull(lastPurchase, NONE_MAX));
      for (long s : sessions) {
        v.add(s);
      }
      v.add(Long.bitCount(activeDays30));
      v.add(Long.bitCount(activeDaysPrev30));
      v.add(orNull(lastSession, NONE_MAX));
      v.add(sessionDuration.count == 0 ? null : sessionDuration.sum / sessionDuration.count);
      v.add(sessionDuration30.value());
      v.add(productViews30);
      v.add(addToCart30);
      v.add(purchaseRevenue30.value());
      v.add(refundAmount30.value());
      v.add(nightPurchases);
      v.add(purchaseRows);
      v.add(weekendAppEvents);
      v.add(appEvents);
      v.add(messagesReceived30);
      v.add(messageOpens30);
      v.add(messageClicks30);
      v.add(optOut);
      v.add(orNull(installEvent, NONE_MIN));
      v.add(orNull(lastUninstall, NONE_MAX));
      v.add(orNull(lastAppEvent, NONE_MAX));
      long orders30 = orders.values().stream().filter(Boolean::booleanValue).count();
      v.add(orders.size() + ordersWithoutId);
      v.add(orders30 + ordersWithoutId30);
      v.add(medianGapDays());
      UTF8String top = null;
      long topN = 0;
      long total = 0;
      for (Map.Entry<UTF8String, long[]> e : categories.entrySet()) {
        long n = e.getValue()[0];
        total += n;
        // The most events; of equal counts the first name in byte order, as Spark sorts strings.
        if (n > topN || (n == topN && e.getKey().compareTo(top) < 0)) {
          top = e.getKey();
          topN = n;
        }
      }
      v.add(top == null ? null : top.toString());
      v.add(top == null ? null : (double) topN / total);
      v.add((long) categories.size());
      for (UTF8String l : latest) {
        v.add(l == null ? null : l.toString());
      }
      return RowFactory.create(v.toArray());
    }

    /** Median of the gaps between consecutive session starts, in days; null with fewer than two sessions. */
    private Double medianGapDays() {
      if (sessionCount < 2) {
        return null;
      }
      long[] times = Arrays.copyOf(sessionTimes, sessionCount);
      Arrays.sort(times);
      double[] gaps = new double[times.length - 1];
      for (int i = 1; i < times.length; i++) {
        gaps[i - 1] = (times[i] - times[i - 1]) / MICROS_PER_DAY;
      }
      Arrays.sort(gaps);
      int n = gaps.length;
      return n % 2 == 1 ? gaps[n / 2] : (gaps[n / 2 - 1] + gaps[n / 2]) / 2;
    }

    private static Long orNull(long value, long none) {
      return value == none ? null : value;
    }

    byte[] toBytes() {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
      try (DataOutputStream out = new DataOutputStream(bytes)) {
        out.writeLong(firstEvent);
        out.writeLong(lastSeen);
        purchaseRevenue.write(out);
        out.writeLong(refundCount);
        refundAmount.write(out);
        out.writeLong(firstPurchase);
        out.writeLong(lastPurchase);
        for (long s : sessions) {
          out.writeLong(s);
        }
        out.writeLong(activeDays30);
        out.writeLong(activeDaysPrev30);
        out.writeLong(lastSession);
        sessionDuration.write(out);
        sessionDuration30.write(out);
        out.writeLong(productViews30);
        out.writeLong(addToCart30);
        purchaseRevenue30.write(out);
        refundAmount30.write(out);
        out.writeLong(nightPurchases);
        out.writeLong(purchaseRows);
        out.writeLong(weekendAppEvents);
        out.writeLong(appEvents);
        out.writeLong(messagesReceived30);
        out.writeLong(messageOpens30);
        out.writeLong(messageClicks30);
        out.writeBoolean(optOut);
        out.writeLong(installEvent);
        out.writeLong(lastUninstall);
        out.writeLong(lastAppEvent);
        out.writeInt(orders.size());
        for (Map.Entry<UTF8String, Boolean> e : orders.entrySet()) {
          writeString(out, e.getKey());
          out.writeBoolean(e.getValue());
        }
        out.writeLong(ordersWithoutId);
        out.writeLong(ordersWithoutId30);
        out.writeInt(sessionCount);
        for (int i = 0; i < sessionCount; i++) {
          out.writeLong(sessionTimes[i]);
        }
        out.writeInt(categories.size());
        for (Map.Entry<UTF8String, long[]> e : categories.entrySet()) {
          writeString(out, e.getKey());
          out.writeLong(e.getValue()[0]);
        }
        for (int i = 0; i < LATEST.length; i++) {
          out.writeLong(latestTime[i]);
          out.writeBoolean(latest[i] != null);
          if (latest[i] != null) {
            writeString(out, latest[i]);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return bytes.toByteArray();
    }

    static UserState fromBytes(byte[] bytes, int windows) {
      UserState s = new UserState(windows);
      // A ByteBuffer reads what DataOutputStream wrote (big-endian; a boolean is one byte 0 or 1)
      // without DataInputStream's per-call copies, which were a tenth of the features stage.
      java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes);
      try {
        s.firstEvent = in.getLong();
        s.lastSeen = in.getLong();
        s.purchaseRevenue.read(in);
        s.refundCount = in.getLong();
        s.refundAmount.read(in);
        s.firstPurchase = in.getLong();
        s.lastPurchase = in.getLong();
        for (int i = 0; i < windows; i++) {
          s.sessions[i] = in.getLong();
        }
        s.activeDays30 = in.getLong();
        s.activeDaysPrev30 = in.getLong();
        s.lastSession = in.getLong();
        s.sessionDuration.read(in);
        s.sessionDuration30.read(in);
        s.productViews30 = in.getLong();
        s.addToCart30 = in.getLong();
        s.purchaseRevenue30.read(in);
        s.refundAmount30.read(in);
        s.nightPurchases = in.getLong();
        s.purchaseRows = in.getLong();
        s.weekendAppEvents = in.getLong();
        s.appEvents = in.getLong();
        s.messagesReceived30 = in.getLong();
        s.messageOpens30 = in.getLong();
        s.messageClicks30 = in.getLong();
        s.optOut = (in.get() != 0);
        s.installEvent = in.getLong();
        s.lastUninstall = in.getLong();
        s.lastAppEvent = in.getLong();
        int orders = in.getInt();
        for (int i = 0; i < orders; i++) {
          s.orders.put(readString(in), (in.get() != 0));
        }
        s.ordersWithoutId = in.getLong();
        s.ordersWithoutId30 = in.getLong();
        int sessions = in.getInt();
        for (int i = 0; i < sessions; i++) {
          s.addSessionTime(in.getLong());
        }
        int categories = in.getInt();
        for (int i = 0; i < categories; i++) {
          s.categories.put(readString(in), new long[] {in.getLong()});
        }
        for (int i = 0; i < LATEST.length; i++) {
          s.latestTime[i] = in.getLong();
          s.latest[i] = (in.get() != 0) ? readString(in) : null;
        }
      } catch (java.nio.BufferUnderflowException e) {
        throw new IllegalStateException("A folded user state is shorter than its fields: " + bytes.length + " bytes", e);
      }
      return s;
    }

    private static void writeString(DataOutputStream out, UTF8String s) throws IOException {
      byte[] b = s.getBytes();
      out.writeInt(b.length);
      out.write(b);
    }

    private static UTF8String readString(java.nio.ByteBuffer in) {
      byte[] b = new byte[in.getInt()];
      in.get(b);
      return UTF8String.fromBytes(b);
    }
  }

  /** A sum of doubles that is null (SQL) until a value is added. */
  static final class Sum {
    double sum;
    long count;

    void add(double v) {
      sum += v;
      count++;
    }

    void merge(Sum o) {
      sum += o.sum;
      count += o.count;
    }

    Double value() {
      return count == 0 ? null : sum;
    }

    void write(DataOutputStream out) throws IOException {
      out.writeDouble(sum);
      out.writeLong(count);
    }

    void read(java.nio.ByteBuffer in) {
      sum = in.getDouble();
      count = in.getLong();
    }
  }
}
