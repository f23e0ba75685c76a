package io.github.personas.pipeline.generate;

import java.io.Serializable;
import java.sql.Timestamp;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * Writes synthetic events, profiles and a truth table in the input contract.
 *
 * <p>Users are generated in parallel by Spark, each from its own seed (run seed and user
 * index), so the output is the same whatever the number of partitions, and memory stays flat
 * however many users are asked for. Behaviour overlaps between kinds on purpose: per-user
 * multipliers on session gaps and order values, log-normal order values, refunds, messages.
 *
 * <p>The events have the mess of a real SDK stream: a share of them is delivered twice (an
 * exact copy, event id included, later in the same file, as at-least-once delivery does) and a
 * share is stamped after the end date (the first hours of the next day, which an export taken
 * in the morning holds). Both come from a random stream of their own, so the other events are
 * the same whatever the shares.
 */
public final class SyntheticData implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final StructType EVENTS_SCHEMA = StructType.fromDDL(
      "event_id string, user_id string, event_time timestamp, event_name string, session_id string,"
          + " duration_s double, order_id string, revenue double, currency string, product_id string,"
          + " category string, channel string, campaign_id string, platform string, os_version string,"
          + " app_version string, device_model string, country string, region string, city string");
  public static final StructType PROFILES_SCHEMA = StructType.fromDDL(
      "user_id string, install_time timestamp, birth_year int, gender string, country string, region string,"
          + " city string, language string, income_band string, occupation string, marital_status string,"
          + " education string, acquisition_channel string, push_opt_in boolean, email_opt_in boolean,"
          + " sms_opt_in boolean, interests array<string>");
  public static final StructType TRUTH_SCHEMA = StructType.fromDDL("user_id string, persona string");

  private static final String LATEST_APP = "5.2.0";
  private static final String[] APP_VERSIONS = {"5.2.0", "5.1.3", "5.0.1", "4.9.0"};
  private static final String[][] COUNTRIES = {
      {"US", "California", "Los Angeles", "en"}, {"US", "New York", "New York", "en"},
      {"GB", "England", "London", "en"}, {"DE", "Berlin", "Berlin", "de"}, {"FR", "Ile-de-France", "Paris", "fr"},
      {"IN", "Maharashtra", "Mumbai", "hi"}, {"BR", "Sao Paulo", "Sao Paulo", "pt"}, {"ES", "Madrid", "Madrid", "es"}};
  private static final double[] COUNTRY_WEIGHTS = {0.18, 0.12, 0.14, 0.12, 0.1, 0.16, 0.1, 0.08};
  private static final String[] CATEGORIES = {"fashion", "electronics", "home", "beauty", "books", "sports", "toys"};
  private static final String[] CHANNELS = {"push", "email", "sms", "in_app"};
  private static final String[] INTERESTS = {"cooking", "fitness", "gaming", "travel", "music", "fashion", "tech"};
  private static final String[] INCOME = {"low", "middle", "upper_middle", "high"};

  /** Share of events delivered twice, by default. */
  public static final double DEFAULT_DUPLICATE_SHARE = 0.005;
  /** Share of events stamped after the end date, by default. */
  public static final double DEFAULT_LATE_SHARE = 0.01;

  private final long users;
  private final int days;
  private final long seed;
  private final LocalDate endDate;
  private final double duplicateShare;
  private final double lateShare;

  /**
   * @param users   number of users, at least 1
   * @param days    length of the history in days, ending at {@code endDate}, at least 7
   * @param seed    seed; the same seed gives the same data
   * @param endDate last day of the history (the natural run date)
   */
  public SyntheticData(long users, int days, long seed, LocalDate endDate) {
    this(users, days, seed, endDate, DEFAULT_DUPLICATE_SHARE, DEFAULT_LATE_SHARE);
  }

  /**
   * @param users          number of users, at least 1
   * @param days           length of the history in days, ending at {@code endDate}, at least 7
   * @param seed           seed; the same seed gives the same data
   * @param endDate        last day of the history (the natural run date)
   * @param duplicateShare share of events delivered twice, 0..0.5
   * @param lateShare      share of events stamped after {@code endDate}, 0..0.5
   */
  public SyntheticData(long users, int days, long seed, LocalDate endDate, double duplicateShare, double lateShare) {
    if (users < 1) {
      throw new IllegalArgumentException(String.format("users must be at least 1, got %s", users));
    }
    if (days < 7) {
      throw new IllegalArgumentException(String.format("days must be at least 7, got %s", days));
    }
    if (!(duplicateShare >= 0 && duplicateShare <= 0.5) || !(lateShare >= 0 && lateShare <= 0.5)) {
      throw new IllegalArgumentException(String.format(
          "duplicate and late shares must be within 0..0.5, got %s and %s", duplicateShare, lateShare));
    }
    this.users = users;
    this.days = days;
    this.seed = seed;
    this.endDate = endDate;
    this.duplicateShare = duplicateShare;
    this.lateShare = lateShare;
  }

  /** Writes events/, profiles/ and truth/ as Parquet under {@code out}. */
  public void write(SparkSession spark, String out, int files) {
    int partitions = (int) Math.max(files, Math.min(200, users / 5_000 + 1));
    Dataset<Long> ids = spark.range(0, users, 1, partitions).as(Encoders.LONG());
    Dataset<Row> events = ids.mapPartitions((MapPartitionsFunction<Long, Row>) it -> new UserEvents(it, this),
        Encoders.row(EVENTS_SCHEMA));
    events.coalesce(files).write().mode(SaveMode.Overwrite).parquet(out + "/events");
    Dataset<Row> profiles = ids.map((org.apache.spark.api.java.function.MapFunction<Long, Row>) this::profile,
        Encoders.row(PROFILES_SCHEMA));
    profiles.coalesce(files).write().mode(SaveMode.Overwrite).parquet(out + "/profiles");
    Dataset<Row> truth = ids.map((org.apache.spark.api.java.function.MapFunction<Long, Row>)
        i -> RowFactory.create(userId(i), persona(i).label()), Encoders.row(TRUTH_SCHEMA));
    truth.coalesce(files).write().mode(SaveMode.Overwrite).parquet(out + "/truth");
  }

  static String userId(long i) {
    return String.format("u%07d", i);
  }

  private SplittableRandom rng(long i, long salt) {
    return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + i * 0xBF58476D1CE4E5B9L + salt);
  }

  PlantedPersona persona(long i) {
    double u = rng(i, 1).nextDouble();
    double acc = 0;
    for (PlantedPersona p : PlantedPersona.values()) {
      acc += p.share();
      if (u < acc) {
        return p;
      }
    }
    return PlantedPersona.UNINSTALLED;
  }

  private long endMillis() {
    return endDate.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli() - 1;
  }

  private long dayMillis(double days) {
    return (long) (days * 86_400_000L);
  }

  /** Install time: recent for new users, otherwise anywhere up to a year before the end. */
  private long installMillis(long i, PlantedPersona p) {
    SplittableRandom r = rng(i, 2);
    double ago = switch (p) {
      case NEW_USER -> r.nextDouble(0.2, 6.5);
      case NEVER_LAUNCHED -> r.nextDouble(1, Math.min(days, 60));
      default -> r.nextDouble(Math.min(days, 60), 365);
    };
    return endMillis() - dayMillis(ago);
  }

  private static int pick(SplittableRandom r, double[] weights) {
    double u = r.nextDouble();
    double acc = 0;
    for (int k = 0; k < weights.length; k++) {
      acc += weights[k];
      if (u < acc) {
        return k;
      }
    }
    return weights.length - 1;
  }

  Row profile(long i) {
    PlantedPersona p = persona(i);
    SplittableRandom r = rng(i, 3);
    String[] geo = COUNTRIES[pick(r, COUNTRY_WEIGHTS)];
    int birthYear = 1950 + r.nextInt(56);
    String gender = r.nextDouble() < 0.48 ? "female" : r.nextDouble() < 0.95 ? "male" : "other";
    List<String> interests = new ArrayList<>();
    for (String s : INTERESTS) {
      if (r.nextDouble() < (p == PlantedPersona.LATE_NIGHT_FOOD && s.equals("cooking") ? 0.8 : 0.2)) {
        interests.add(s);
      }
    }
    String income = INCOME[p == PlantedPersona.LOYAL_BIG_SPENDER ? 2 + r.nextInt(2) : r.nextInt(4)];
    boolean missingDemographics = r.nextDouble() < 0.05;
    return RowFactory.create(userId(i), new Timestamp(installMillis(i, p)),
        missingDemographics ? null : birthYear, missingDemographics ? null : gender, geo[0], geo[1], geo[2], geo[3],
        income, null, null, null, new String[] {"organic", "paid_social", "search", "referral"}[r.nextInt(4)],
        r.nextDouble() < 0.6, r.nextDouble() < 0.7, r.nextDouble() < 0.25,
        scala.jdk.javaapi.CollectionConverters.asScala(interests).toSeq());
  }

  /** Behaviour of one kind of user; multipliers per user add overlap between kinds. */
  private record Behaviour(double meanGapDays, double activeFromAgo, double activeToAgo, double purchasePerSession,
                           double aovMedian, boolean night, boolean food, double openRate, double sessionMinutes) {}

  private Behaviour behaviour(PlantedPersona p, SplittableRandom r, double installAgo) {
    double life = Math.min(days, installAgo);
    return switch (p) {
      case NEVER_LAUNCHED -> new Behaviour(0, 0, 0, 0, 0, false, false, 0.02, 0);
      case NEW_USER -> new Behaviour(1.2, installAgo, 0, 0.05, 18, false, false, 0.35, 4);
      case ACTIVE_NON_PAYER -> new Behaviour(2.5, life, 0, 0, 0, false, false, 0.2, 6);
      case CONVERTED_LOW_SPENDER -> new Behaviour(3.5, life, 0, 0.07, 12, false, false, 0.25, 5);
      case LOYAL_BIG_SPENDER -> new Behaviour(1.4, life, 0, 0.22, 95, false, false, 0.45, 11);
      case LATE_NIGHT_FOOD -> new Behaviour(2.5, life, 0, 0.35, 24, true, true, 0.3, 5);
      case DORMANT -> new Behaviour(3.5, life, r.nextDouble(35, Math.max(36, life - 5)), 0.05, 20, false, false, 0.05, 4);
      case UNINSTALLED -> new Behaviour(4, life, r.nextDouble(8, Math.max(9, life - 5)), 0.03, 15, false, false, 0.03, 3);
    };
  }

  /**
   * Iterates the events of a partition's users, one user at a time, then the copies delivered
   * again, as a retry batch at the end of the partition.
   */
  private static final class UserEvents implements Iterator<Row> {
    private final Iterator<Long> ids;
    private final SyntheticData g;
    private final List<Row> retries = new ArrayList<>();
    private boolean retrying;
    private List<Row> current = List.of();
    private int pos;

    UserEvents(Iterator<Long> ids, SyntheticData g) {
      this.ids = ids;
      this.g = g;
    }

    @Override
    public boolean hasNext() {
      while (pos >= current.size() && ids.hasNext()) {
        long i = ids.next();
        current = g.events(i);
        retries.addAll(g.deliveredAgain(i, current));
        pos = 0;
      }
      if (pos >= current.size() && !retrying) {
        retrying = true;
        current = retries;
        pos = 0;
      }
      return pos < current.size();
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      return current.get(pos++);
    }
  }

  /** The events of user {@code i} in the order they happened, late ones (after the end date) last. */
  List<Row> events(long i) {
    List<Row> out = onTime(i);
    if (lateShare > 0) {
      // Late: a copy of an event, with an id of its own, in the first six hours after the end date.
      SplittableRandom r = rng(i, 5);
      int n = out.size();
      for (int e = 0; e < n; e++) {
        if (r.nextDouble() < lateShare) {
          Object[] v = new Object[EVENTS_SCHEMA.size()];
          for (int c = 0; c < v.length; c++) {
            v[c] = out.get(e).get(c);
          }
          v[0] = v[0] + "-late";
          v[2] = new Timestamp(endMillis() + 1 + r.nextLong(6 * 3_600_000L));
          out.add(RowFactory.create(v));
        }
      }
    }
    return out;
  }

  /** Exact copies of some of user {@code i}'s events: the ones an SDK delivers twice. */
  List<Row> deliveredAgain(long i, List<Row> events) {
    List<Row> copies = new ArrayList<>();
    if (duplicateShare > 0) {
      SplittableRandom r = rng(i, 6);
      for (Row e : events) {
        if (r.nextDouble() < duplicateShare) {
          copies.add(e);
        }
      }
    }
    return copies;
  }

  private List<Row> onTime(long i) {
    PlantedPersona p = persona(i);
    SplittableRandom r = rng(i, 4);
    Row profile = profile(i);
    String uid = userId(i);
    String platform = r.nextDouble() < 0.45 ? "ios" : r.nextDouble() < 0.85 ? "android" : "web";
    String os = platform.equals("ios") ? "17." + r.nextInt(6) : platform.equals("android") ? String.valueOf(11 + r.nextInt(4)) : "web";
    String device = platform.equals("ios") ? "iPhone" + (12 + r.nextInt(4)) : platform.equals("android")
        ? new String[] {"Pixel 7", "Galaxy S23", "Redmi Note 12"}[r.nextInt(3)] : "browser";
    String app = r.nextDouble() < 0.7 ? LATEST_APP : APP_VERSIONS[1 + r.nextInt(3)];
    String country = profile.getString(4);
    String region = profile.getString(5);
    String city = profile.getString(6);
    long end = endMillis();
    long start = end - dayMillis(days);
    long install = installMillis(i, p);
    double installAgo = (end - install) / 86_400_000.0;
    Behaviour b = behaviour(p, r, installAgo);
    double gapMult = Math.exp(0.35 * r.nextGaussian());
    double aovMult = Math.exp(0.3 * r.nextGaussian());
    String favourite = b.food() ? "food" : CATEGORIES[r.nextInt(CATEGORIES.length)];

    List<Row> out = new ArrayList<>();
    int[] seq = {0};
    EventSink sink = (time, name, session, duration, order, revenue, category, channel, campaign) -> {
      if (time < start || time > end) {
        return;
      }
      out.add(RowFactory.create(uid + "-" + (seq[0]++), uid, new Timestamp(time), name, session, duration, order,
          revenue, revenue == null ? null : "USD", category == null ? null : category + "-" + (1 + (seq[0] % 40)),
          category, channel, campaign, platform, os, app, device, country, region, city));
    };
    sink.add(install, "install", null, null, null, null, null, null, null);

    if (b.meanGapDays() > 0) {
      double t = installAgo > days ? days : installAgo;
      t = Math.min(t, b.activeFromAgo());
      int s = 0;
      while (true) {
        t -= -Math.log(1 - r.nextDouble()) * b.meanGapDays() * gapMult;
        if (t <= b.activeToAgo()) {
          break;
        }
        long dayStart = end - dayMillis(Math.ceil(t)) + 1;
        double hour = b.night() ? (22 + r.nextDouble(6)) % 24 : 8 + r.nextDouble(14);
        if (!b.night() && r.nextDouble() < 0.05) {
          hour = r.nextDouble(24);
        }
        long time = Math.min(end, dayStart + (long) (hour * 3_600_000L));
        String session = uid + "-s" + (s++);
        double minutes = b.sessionMinutes() * Math.exp(0.5 * r.nextGaussian());
        sink.add(time, "session_start", session, minutes * 60, null, null, null, null, null);
        int views = 1 + (int) (-Math.log(1 - r.nextDouble()) * 2);
        for (int v = 0; v < views; v++) {
          time += 20_000 + r.nextInt(60_000);
          sink.add(time, "screen_view", session, null, null, null, null, null, null);
        }
        String category = r.nextDouble() < 0.7 ? favourite : CATEGORIES[r.nextInt(CATEGORIES.length)];
        int productViews = (int) (-Math.log(1 - r.nextDouble()) * 1.5);
        for (int v = 0; v < productViews; v++) {
          time += 15_000 + r.nextInt(45_000);
          sink.add(time, "product_view", session, null, null, null, category, null, null);
        }
        boolean buys = r.nextDouble() < b.purchasePerSession();
        if (productViews > 0 && (buys || r.nextDouble() < 0.25)) {
          time += 30_000;
          sink.add(time, "add_to_cart", session, null, null, null, category, null, null);
        }
        if (buys) {
          time += 60_000;
          String order = session + "-o";
          double amount = Math.round(b.aovMedian() * aovMult * Math.exp(0.45 * r.nextGaussian()) * 100) / 100.0;
          int lines = 1 + (r.nextDouble() < 0.3 ? 1 : 0);
          for (int l = 0; l < lines; l++) {
            sink.add(time, "purchase", session, null, order, Math.round(amount / lines * 100) / 100.0, category, null, null);
          }
          if (r.nextDouble() < 0.04) {
            sink.add(time + dayMillis(1 + r.nextInt(9)), "refund", null, null, order, amount, category, null, null);
          }
        }
      }
    }
    if (p == PlantedPersona.UNINSTALLED) {
      sink.add(end - dayMillis(b.activeToAgo()) + 3_600_000L, "uninstall", null, null, null, null, null, null, null);
    }
    // Marketing messages: roughly one every five days on an opted-in channel.
    double t = Math.min(days, installAgo);
    int m = 0;
    while (true) {
      t -= -Math.log(1 - r.nextDouble()) * 5;
      if (t <= 0) {
        break;
      }
      String channel = CHANNELS[r.nextInt(CHANNELS.length)];
      if ((channel.equals("push") && !profile.getBoolean(13)) || (channel.equals("email") && !profile.getBoolean(14))
          || (channel.equals("sms") && !profile.getBoolean(15))) {
        continue;
      }
      boolean gone = t < b.activeToAgo();
      long time = end - dayMillis(t);
      String campaign = "c" + (int) (t / 7);
      sink.add(time, "message_received", null, null, null, null, null, channel, campaign);
      double open = gone ? 0.01 : b.openRate();
      if (r.nextDouble() < open) {
        sink.add(time + 600_000, "message_open", null, null, null, null, null, channel, campaign);
        if (r.nextDouble() < 0.3) {
          sink.add(time + 660_000, "message_click", null, null, null, null, null, channel, campaign);
        }
      }
      if (++m > 3 && r.nextDouble() < 0.003) {
        sink.add(time + 700_000, "opt_out", null, null, null, null, null, channel, campaign);
        break;
      }
    }
    return out;
  }

  @FunctionalInterface
  private interface EventSink {
    void add(long time, String name, String session, Double duration, String order, Double revenue, String category,
             String channel, String campaign);
  }
}
