package io.github.personas.pipeline.features;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.personas.pipeline.engine.Aggregate.State;
import io.github.personas.pipeline.engine.AggregateFold;
import io.github.personas.pipeline.engine.ByteSink;
import io.github.personas.pipeline.engine.ByteSource;
import io.github.personas.pipeline.engine.Record;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;

/**
 * Every per-user aggregate is a semigroup: folding a user's events in one state, or in several
 * states merged in any order, gives the same columns; a state written and read back is the same
 * state. The engine relies on both (a state per input partition, merged after the shuffle).
 */
class AggregateLawsTest {

  private static final LocalDate D = LocalDate.parse("2024-03-10");
  private static final AggregateFold<Event> FOLD = UserAggregates.fold(D, "UTC", "Europe/Berlin", List.of(7, 30, 90));

  /** A record of the fold's inputs, by name. */
  private static final class Values implements Record {
    private final Object[] v;

    Values(Map<String, Object> byName) {
      List<String> inputs = FOLD.inputs();
      v = new Object[inputs.size()];
      for (int i = 0; i < inputs.size(); i++) {
        String item = inputs.get(i);
        String name = item.substring(item.lastIndexOf(" AS ") + 4).replace("`", "");
        Object x = byName.get(name);
        v[i] = x instanceof String s ? UTF8String.fromString(s) : x;
      }
    }

    @Override
    public boolean isNullAt(int i) {
      return v[i] == null;
    }

    @Override
    public long getLong(int i) {
      return (Long) v[i];
    }

    @Override
    public int getInt(int i) {
      return (Integer) v[i];
    }

    @Override
    public double getDouble(int i) {
      return (Double) v[i];
    }

    @Override
    public boolean getBoolean(int i) {
      return (Boolean) v[i];
    }

    @Override
    public UTF8String getUTF8String(int i) {
      return (UTF8String) v[i];
    }

    @Override
    public UTF8String[] getStringArray(int i) {
      return (UTF8String[]) v[i];
    }
  }

  /** Random events of one user over 70 days: every kind, with and without ids, values and places. */
  private static List<Record> events(Random r, int n) {
    int[] kinds = {UserAggregates.PURCHASE | UserAggregates.APP | UserAggregates.SHOPPING, UserAggregates.REFUND,
        UserAggregates.APP | UserAggregates.SESSION, UserAggregates.APP | UserAggregates.PRODUCT_VIEW
        | UserAggregates.SHOPPING, UserAggregates.APP | UserAggregates.ADD_TO_CART | UserAggregates.SHOPPING,
        UserAggregates.MESSAGE_RECEIVED, UserAggregates.MESSAGE_OPEN, UserAggregates.MESSAGE_CLICK,
        UserAggregates.OPT_OUT, UserAggregates.APP | UserAggregates.INSTALL, UserAggregates.UNINSTALL,
        UserAggregates.APP};
    long end = D.plusDays(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond() * 1_000_000L;
    List<Record> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Map<String, Object> m = new HashMap<>();
      int kind = kinds[r.nextInt(kinds.length)];
      m.put("kind", kind);
      // Whole seconds, and some events at the very same time.
      m.put("t", end - 1_000_000L * (r.nextInt(8) == 0 ? 3600 : 1 + r.nextInt(70 * 86_400)));
      // Halves only: sums are exact whatever the order, so merging may not change one bit. A
      // purchase has a revenue by definition (its kind says revenue >= 0); a refund may not.
      boolean paid = (kind & UserAggregates.PURCHASE) != 0 || ((kind & UserAggregates.REFUND) != 0 && r.nextInt(5) > 0);
      m.put("revenue", paid ? r.nextInt(400) / 2.0 : null);
      m.put("duration_s", r.nextBoolean() ? (double) r.nextInt(3600) : null);
      m.put("order_id", r.nextInt(3) == 0 ? null : "o" + r.nextInt(6));
      m.put("category", r.nextInt(4) == 0 ? null : new String[] {"food", "toys", "books"}[r.nextInt(3)]);
      m.put("product_id", r.nextInt(4) == 0 ? null : "p" + r.nextInt(8));
      for (String[] l : UserAggregates.LATEST) {
        m.put(l[0], r.nextInt(3) == 0 ? null : l[0] + r.nextInt(3));
      }
      out.add(new Values(m));
    }
    return out;
  }

  private static State fold(List<Record> rows) {
    State s = FOLD.create();
    rows.forEach(r -> FOLD.add(s, r));
    return s;
  }

  private static List<Object> emitted(State s) {
    Object[] v = new Object[FOLD.output().fields().length];
    FOLD.emit(s, v, 0);
    return Arrays.asList(v);
  }

  private static State roundTrip(State s) {
    ByteSink out = new ByteSink(64);
    FOLD.write(s, out);
    return FOLD.read(new ByteSource(out.toByteArray()));
  }

  @Test
  void foldingInPartsAndMergingGivesTheColumnsOfOneFold() {
    Random r = new Random(11);
    for (int trial = 0; trial < 200; trial++) {
      List<Record> rows = events(r, r.nextInt(40));
      int a = rows.isEmpty() ? 0 : r.nextInt(rows.size() + 1);
      int b = a + (rows.size() == a ? 0 : r.nextInt(rows.size() - a + 1));
      State whole = fold(rows);
      State merged = fold(rows.subList(0, a));
      FOLD.merge(merged, fold(rows.subList(a, b)));
      FOLD.merge(merged, fold(rows.subList(b, rows.size())));
      assertEquals(emitted(whole), emitted(merged), "trial " + trial + ": split at " + a + " and " + b);
      // Merging into an empty state, and merging in the other order, change nothing either.
      State other = fold(rows.subList(b, rows.size()));
      FOLD.merge(other, fold(rows.subList(0, b)));
      assertEquals(emitted(whole), emitted(other), "trial " + trial + ": merged in the other order");
    }
  }

  @Test
  void aStateWrittenAndReadBackEmitsTheSameColumnsAndMergesTheSame() {
    Random r = new Random(5);
    for (int trial = 0; trial < 200; trial++) {
      List<Record> rows = events(r, r.nextInt(40));
      State s = fold(rows);
      State back = roundTrip(s);
      assertEquals(emitted(s), emitted(back), "trial " + trial);
      List<Record> more = events(r, 5);
      State x = fold(rows);
      FOLD.merge(x, fold(more));
      FOLD.merge(back, fold(more));
      assertEquals(emitted(x), emitted(back), "trial " + trial + ": a read state keeps folding");
    }
  }

  @Test
  void theSchemaIsTheAggregatesColumnsInOrder() {
    List<String> names = Arrays.asList(FOLD.output().fieldNames());
    assertEquals("first_event_us", names.get(0));
    assertEquals(List.of("frequency", "purchases_30d"), names.subList(names.indexOf("frequency"),
        names.indexOf("frequency") + 2));
    var last = FOLD.aggregates().get(FOLD.aggregates().size() - 1).columns();
    assertEquals(last.get(last.size() - 1).name(), names.get(names.size() - 1));
    int columns = FOLD.aggregates().stream().mapToInt(x -> x.columns().size()).sum();
    assertEquals(columns, names.size());
  }
}
