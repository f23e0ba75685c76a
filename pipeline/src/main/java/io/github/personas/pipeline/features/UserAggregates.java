package io.github.personas.pipeline.features;

import static io.github.personas.pipeline.engine.Aggregate.EVERY_ROW;
import static io.github.personas.pipeline.engine.Aggregates.any;
import static io.github.personas.pipeline.engine.Aggregates.count;
import static io.github.personas.pipeline.engine.Aggregates.distinctBits;
import static io.github.personas.pipeline.engine.Aggregates.distinctCount;
import static io.github.personas.pipeline.engine.Aggregates.distinctLongs;
import static io.github.personas.pipeline.engine.Aggregates.exactSumAtLeast;
import static io.github.personas.pipeline.engine.Aggregates.exactSum;
import static io.github.personas.pipeline.engine.Aggregates.latest;
import static io.github.personas.pipeline.engine.Aggregates.max;
import static io.github.personas.pipeline.engine.Aggregates.mean;
import static io.github.personas.pipeline.engine.Aggregates.min;
import static io.github.personas.pipeline.engine.Aggregates.mostFrequent;
import static io.github.personas.pipeline.engine.Aggregates.sum;

import io.github.personas.pipeline.engine.Aggregate;
import io.github.personas.pipeline.engine.Aggregate.State;
import io.github.personas.pipeline.engine.AggregateFold;
import io.github.personas.pipeline.engine.Aggregates.When;
import io.github.personas.pipeline.engine.ByteSink;
import io.github.personas.pipeline.engine.ByteSource;
import io.github.personas.pipeline.engine.Input;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Everything per user that the features derive from, each aggregate defined once below: which
 * events it reads, what it keeps, and the column it emits. {@link FeatureBuilder} derives the
 * documented features from these columns in SQL (times are epoch microseconds here).
 *
 * <p>The definitions in plain Spark SQL live in the test class {@code SqlReferenceFeatures}; a
 * test holds the two equal. An event's kind is a set of bits, computed in SQL as the event is
 * read, and each aggregate reads only the events of its bits.
 */
final class UserAggregates {

  // The kinds of event: bits of the selector (conditions in KINDS).
  /**
   * Decimal places money is summed to, exactly: four, the most any ISO 4217 currency has.
   * FeatureBuilder and the reference SQL read money as DECIMAL(38, 4) alike.
   */
  public static final int MONEY_SCALE = 4;

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

  /** The SQL condition of each kind, over contract columns. */
  private static final Map<Integer, String> KINDS = new LinkedHashMap<>();

  static {
    KINDS.put(PURCHASE, "event_name = 'purchase' AND revenue >= 0");
    KINDS.put(REFUND, "event_name = 'refund' OR (event_name = 'purchase' AND revenue < 0)");
    KINDS.put(APP, FeatureBuilder.APP_EVENT);
    KINDS.put(SESSION, "event_name = 'session_start'");
    KINDS.put(PRODUCT_VIEW, "event_name = 'product_view'");
    KINDS.put(ADD_TO_CART, "event_name = 'add_to_cart'");
    KINDS.put(MESSAGE_RECEIVED, "event_name = 'message_received'");
    KINDS.put(MESSAGE_OPEN, "event_name = 'message_open'");
    KINDS.put(MESSAGE_CLICK, "event_name = 'message_click'");
    KINDS.put(OPT_OUT, "event_name = 'opt_out'");
    KINDS.put(INSTALL, "event_name = 'install'");
    KINDS.put(UNINSTALL, "event_name = 'uninstall'");
    KINDS.put(SHOPPING, FeatureBuilder.SHOPPING_EVENT);
  }

  /** Contract columns whose latest non-null value per user is kept, and the columns they become. */
  static final String[][] LATEST = {
      {"platform", "platform"}, {"os_version", "os_version"}, {"app_version", "app_version"},
      {"device_model", "device_model"}, {"country", "event_country"}, {"region", "event_region"},
      {"city", "event_city"}};

  private static final double MICROS_PER_DAY = 86_400_000_000D;

  private UserAggregates() {}

  private static String kindSql() {
    StringBuilder sql = new StringBuilder();
    KINDS.forEach((bit, cond) -> sql.append(sql.isEmpty() ? "" : " | ")
        .append("(CASE WHEN ").append(cond).append(" THEN ").append(bit).append(" ELSE 0 END)"));
    return sql.toString();
  }

  /**
   * The fold of a user's events into these aggregates.
   *
   * @param runDate        the run date D
   * @param sessionZone    the Spark session time zone, in which event dates are read
   * @param localZone      the zone of local hours and weekdays
   * @param sessionWindows trailing windows in days of the sessions_&lt;N&gt;d counts
   */
  static AggregateFold<Event> fold(LocalDate runDate, String sessionZone, String localZone, List<Integer> sessionWindows) {
    Clock clock = new Clock(sessionZone, localZone, runDate);
    Event.Inputs inputs = new Event.Inputs();
    return new AggregateFold<>(aggregates(sessionWindows, new LinkedHashMap<>()), Input.of("kind", kindSql()),
        inputs.all(), () -> new Event(clock, inputs));
  }

  /**
   * The aggregates whose columns are features as they are, each with its value for a user seen
   * in profiles only: {@link FeatureBuilder} adds them to the features table after
   * {@code category_events}, in this order.
   */
  static Map<String, String> asFeatures(List<Integer> sessionWindows) {
    Map<String, String> features = new LinkedHashMap<>();
    aggregates(sessionWindows, features);
    return features;
  }

  /**
   * The aggregates, in output order.
   *
   * @param asFeatures receives the columns of the aggregates that are features as they are
   */
  private static List<Aggregate<Event>> aggregates(List<Integer> sessionWindows, Map<String, String> asFeatures) {
    When<Event> all = e -> true;
    List<Aggregate<Event>> a = new ArrayList<>();
    a.add(min("first_event_us", EVERY_ROW, all, Event::time));
    a.add(max("last_seen_us", EVERY_ROW, all, Event::time));
    a.add(exactSum("purchase_revenue", PURCHASE, all, Event::revenue, MONEY_SCALE));
    a.add(count("refund_count", REFUND, all));
    a.add(exactSum("refund_amount", REFUND, Event::hasRevenue, e -> Math.abs(e.revenue()), MONEY_SCALE));
    a.add(min("first_purchase_us", PURCHASE, all, Event::time));
    a.add(max("last_purchase_us", PURCHASE, all, Event::time));
    for (int w : sessionWindows) {
      a.add(count("sessions_" + w + "d", SESSION, e -> e.age() < w));
    }
    // Java's shift takes the distance mod 64, as Spark's shiftleft does.
    a.add(distinctBits("active_days_30d", APP, Event::in30, Event::age));
    a.add(distinctBits("active_days_prev_30d", APP, e -> !e.in30() && e.age() < 60, e -> e.age() - 30L));
    a.add(max("last_session_us", SESSION, all, Event::time));
    a.add(mean("avg_session_duration_s", SESSION, Event::hasDuration, Event::duration));
    a.add(sum("session_duration_30d", SESSION, e -> e.hasDuration() && e.in30(), Event::duration));
    a.add(count("product_views_30d", PRODUCT_VIEW, Event::in30));
    a.add(count("add_to_cart_30d", ADD_TO_CART, Event::in30));
    a.add(exactSum("purchase_revenue_30d", PURCHASE, Event::in30, Event::revenue, MONEY_SCALE));
    a.add(exactSum("refund_amount_30d", REFUND, e -> e.hasRevenue() && e.in30(), e -> Math.abs(e.revenue()),
        MONEY_SCALE));
    a.add(count("night_purchases", PURCHASE, e -> e.localHour() >= 22 || e.localHour() < 4));
    a.add(count("purchase_rows", PURCHASE, all));
    a.add(count("weekend_app_events", APP, e -> e.localDayOfWeek() == 1 || e.localDayOfWeek() == 7));
    a.add(count("app_events", APP, all));
    a.add(count("messages_received_30d", MESSAGE_RECEIVED, Event::in30));
    a.add(count("message_opens_30d", MESSAGE_OPEN, Event::in30));
    a.add(count("message_clicks_30d", MESSAGE_CLICK, Event::in30));
    a.add(any("has_opt_out_event", OPT_OUT, all));
    a.add(min("install_event_us", INSTALL, all, Event::time));
    a.add(max("last_uninstall_us", UNINSTALL, all, Event::time));
    a.add(max("last_app_event_us", APP, all, Event::time));
    a.add(new Orders());
    a.add(new SessionGaps());
    a.add(mostFrequent("top_category", "top_category_share", "distinct_categories", "category_events", SHOPPING, all,
        Input.column("category")));
    for (String[] l : LATEST) {
      a.add(latest(l[1], EVERY_ROW, Event::time, Input.column(l[0])));
    }
    // Features as they are: one definition here and one line in docs/features.md.
    a.add(feature(asFeatures, "0L", distinctCount("distinct_products_90d", SHOPPING, e -> e.age() < 90,
        Input.column("product_id"))));
    // A purchase model's repeat purchases (days after the first with a purchase, same-day orders
    // merged) and the first day's spend, which a spend model leaves out of the repeat order value.
    a.add(feature(asFeatures, "0L", distinctLongs("purchase_days", PURCHASE, all, Event::utcDay)));
    a.add(feature(asFeatures, "CAST(NULL AS DOUBLE)", exactSumAtLeast("first_purchase_day_revenue", PURCHASE, all,
        Event::utcDay, Event::revenue, MONEY_SCALE)));
    return a;
  }

  /** Marks {@code aggregate}'s columns as features, {@code whenNoEvents} (SQL) for users without events. */
  private static Aggregate<Event> feature(Map<String, String> asFeatures, String whenNoEvents,
                                          Aggregate<Event> aggregate) {
    aggregate.columns().forEach(c -> asFeatures.put(c.name(), whenNoEvents));
    return aggregate;
  }

  private static StructField field(String name, org.apache.spark.sql.types.DataType type, boolean nullable) {
    return new StructField(name, type, nullable, Metadata.empty());
  }

  /**
   * Orders: purchase rows of one order_id are one order, each row without one is an order.
   * Emits {@code frequency} and {@code purchases_30d} (orders with a row in the last 30 days).
   */
  static final class Orders extends Aggregate<Event> {
    private final Input order;

    Orders() {
      this(Input.column("order_id"));
    }

    private Orders(Input order) {
      // Longs: rows without an order id, and those of them in the last 30 days; an object: the ids.
      super(PURCHASE, List.of(order), List.of(field("frequency", DataTypes.LongType, false),
          field("purchases_30d", DataTypes.LongType, false)), new Slots(2, 0, 1));
      this.order = order;
    }

    /** Order id to whether one of its rows is in the last 30 days. */
    private Map<UTF8String, Boolean> orders(State s) {
      return getOrCreate(s, 0, HashMap::new);
    }

    @Override
    protected void add(State s, Event e) {
      UTF8String order = e.getString(this.order);
      boolean in30 = e.in30();
      if (order == null) {
        setLong(s, 0, getLong(s, 0) + 1);
        setLong(s, 1, getLong(s, 1) + (in30 ? 1 : 0));
        return;
      }
      Map<UTF8String, Boolean> m = orders(s);
      Boolean seen = m.get(order);
      if (seen == null || (in30 && !seen)) {
        m.put(order.clone(), in30);
      }
    }

    @Override
    protected void merge(State s, State o) {
      setLong(s, 0, getLong(s, 0) + getLong(o, 0));
      setLong(s, 1, getLong(s, 1) + getLong(o, 1));
      Map<UTF8String, Boolean> other = getObject(o, 0);
      if (other != null) {
        Map<UTF8String, Boolean> m = orders(s);
        other.forEach((order, in30) -> m.merge(order, in30, Boolean::logicalOr));
      }
    }

    @Override
    protected void writeObjects(State s, ByteSink out) {
      Map<UTF8String, Boolean> m = getObject(s, 0);
      out.putVarInt(m == null ? 0 : m.size());
      if (m != null) {
        m.forEach((order, in30) -> {
          out.putString(order);
          out.putByte(in30 ? 1 : 0);
        });
      }
    }

    @Override
    protected void readObjects(State s, ByteSource in) {
      int n = in.getVarInt();
      for (int i = 0; i < n; i++) {
        orders(s).put(in.getString().clone(), in.getByte() != 0);
      }
    }

    @Override
    protected void emit(State s, Object[] out, int at) {
      Map<UTF8String, Boolean> m = getObject(s, 0);
      long withId = m == null ? 0 : m.size();
      long withId30 = m == null ? 0 : m.values().stream().filter(Boolean::booleanValue).count();
      out[at] = withId + getLong(s, 0);
      out[at + 1] = withId30 + getLong(s, 1);
    }
  }

  /**
   * The median time between consecutive session starts, in days (the user's usual interval);
   * null with fewer than two sessions. Keeps every session start.
   */
  static final class SessionGaps extends Aggregate<Event> {
    SessionGaps() {
      // A long: how many times; an object: the times.
      super(SESSION, List.of(), List.of(field("median_session_gap_days", DataTypes.DoubleType, true)),
          new Slots(1, 0, 1));
    }

    private void addTime(State s, long t) {
      long[] times = getObject(s, 0);
      int n = (int) getLong(s, 0);
      if (times == null || n == times.length) {
        times = times == null ? new long[4] : Arrays.copyOf(times, n * 2);
        setObject(s, 0, times);
      }
      times[n] = t;
      setLong(s, 0, n + 1);
    }

    @Override
    protected void add(State s, Event e) {
      addTime(s, e.time());
    }

    @Override
    protected void merge(State s, State o) {
      long[] other = getObject(o, 0);
      for (int i = 0; i < getLong(o, 0); i++) {
        addTime(s, other[i]);
      }
    }

    @Override
    protected void writeObjects(State s, ByteSink out) {
      long[] times = getObject(s, 0);
      for (int i = 0; i < getLong(s, 0); i++) {
        out.putLong(times[i]);
      }
    }

    @Override
    protected void readObjects(State s, ByteSource in) {
      // The count came with the numbers: read that many times.
      long n = getLong(s, 0);
      setLong(s, 0, 0);
      for (int i = 0; i < n; i++) {
        addTime(s, in.getLong());
      }
    }

    @Override
    protected void emit(State s, Object[] out, int at) {
      int n = (int) getLong(s, 0);
      if (n < 2) {
        out[at] = null;
        return;
      }
      long[] times = Arrays.copyOf((long[]) getObject(s, 0), n);
      Arrays.sort(times);
      double[] gaps = new double[n - 1];
      for (int i = 1; i < n; i++) {
        gaps[i - 1] = (times[i] - times[i - 1]) / MICROS_PER_DAY;
      }
      Arrays.sort(gaps);
      int g = gaps.length;
      out[at] = g % 2 == 1 ? gaps[g / 2] : (gaps[g / 2 - 1] + gaps[g / 2]) / 2;
    }
  }
}
