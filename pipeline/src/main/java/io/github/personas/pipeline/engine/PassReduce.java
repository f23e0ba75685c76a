package io.github.personas.pipeline.engine;

import static io.github.personas.pipeline.engine.KeyedPass.COUNTS;
import static io.github.personas.pipeline.engine.KeyedPass.HASHES;
import static io.github.personas.pipeline.engine.KeyedPass.NOTICES;
import static io.github.personas.pipeline.engine.KeyedPass.RECORDS;
import static io.github.personas.pipeline.engine.KeyedPass.SIDE;
import static io.github.personas.pipeline.engine.KeyedPass.WINNER;
import static io.github.personas.pipeline.engine.KeyedPass.fingerprint;

import io.github.personas.pipeline.engine.KeyedPass.Chosen;
import io.github.personas.pipeline.engine.KeyedPass.KeyHash;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.unsafe.types.UTF8String;
import scala.Tuple2;

/** The reduce sides of {@link KeyedPass}: hash partitions, candidates, records and rows set aside. */
final class PassReduce {

  private PassReduce() {}

  /**
   * Reduce side of the hash partitions: sums the class counts and finds the repeated keys. Emits
   * one summary (partition -1: class counts, the range of the first order column, rows to drop,
   * keys repeated) and, for each record
   * partition holding rows of repeated keys, a block of those keys (to that partition).
   */
  static final class HashSide implements
      org.apache.spark.api.java.function.FlatMapFunction<Iterator<Tuple2<Integer, byte[]>>, Tuple2<Integer, byte[]>> {
    @Override
    public Iterator<Tuple2<Integer, byte[]>> call(Iterator<Tuple2<Integer, byte[]>> blocks) {
      Map<String, Long> classes = new HashMap<>();
      long min = Long.MAX_VALUE;
      long max = Long.MIN_VALUE;
      List<byte[]> hashBlocks = new ArrayList<>();
      long total = 0;
      while (blocks.hasNext()) {
        byte[] b = blocks.next()._2();
        ByteSource in = new ByteSource(b);
        int type = in.getByte();
        in.getVarInt();
        if (type == COUNTS) {
          int entries = in.getVarInt();
          for (int i = 0; i < entries; i++) {
            String c = in.getString().toString();
            classes.merge(c, in.getLong(), Long::sum);
          }
          min = Math.min(min, in.getLong());
          max = Math.max(max, in.getLong());
        } else if (type == HASHES) {
          hashBlocks.add(b);
          total += in.getVarInt();
        } else {
          throw new IllegalStateException("Block of type " + type + " in a hash partition");
        }
      }
      long[] a = new long[Math.toIntExact(total)];
      int[] c = new int[a.length];
      int[] where = new int[a.length];
      int at = 0;
      for (byte[] b : hashBlocks) {
        ByteSource in = new ByteSource(b);
        in.getByte();
        in.getVarInt();
        int count = in.getVarInt();
        for (int i = 0; i < count; i++) {
          a[at + i] = in.getLong();
        }
        for (int i = 0; i < count; i++) {
          c[at + i] = in.getInt();
        }
        for (int i = 0; i < count; i++) {
          where[at + i] = in.getChar();
        }
        at += count;
      }
      hashBlocks.clear();
      RepeatedKeys repeated = RepeatedKeys.find(a, c, where, a.length);
      List<Tuple2<Integer, byte[]>> out = new ArrayList<>();
      ByteSink summary = new ByteSink(256);
      summary.putVarInt(classes.size());
      classes.forEach((k, v) -> {
        summary.putString(org.apache.spark.unsafe.types.UTF8String.fromString(k));
        summary.putLong(v);
      });
      summary.putLong(min);
      summary.putLong(max);
      summary.putLong(repeated.duplicates());
      summary.putLong(repeated.size());
      out.add(new Tuple2<>(-1, summary.toByteArray()));
      Map<Integer, ByteSink> notices = new HashMap<>();
      for (int i = 0; i < repeated.size(); i++) {
        for (int p : repeated.places(i)) {
          ByteSink sink = notices.computeIfAbsent(p, x -> {
            ByteSink fresh = new ByteSink(1024);
            fresh.putByte(NOTICES);
            return fresh;
          });
          sink.putLong(repeated.h1(i));
          sink.putInt(repeated.h2(i));
        }
      }
      notices.forEach((p, sink) -> out.add(new Tuple2<>(p, sink.toByteArray())));
      return out.iterator();
    }
  }

  /**
   * What a record partition is told about repeated keys: every key it holds rows of, and for the
   * keys whose row kept is one of its rows, the fingerprint of that row's rank.
   */
  static KeyTable keyInfo(Iterator<Tuple2<Integer, byte[]>> blocks) {
    List<byte[]> all = new ArrayList<>();
    blocks.forEachRemaining(t -> all.add(t._2()));
    KeyTable table = new KeyTable(Math.max(16, all.stream().mapToInt(b -> b.length / 12).sum()));
    for (byte[] b : all) {
      ByteSource in = new ByteSource(b);
      int type = in.getByte();
      if (type != NOTICES && type != WINNER) {
        throw new IllegalStateException("Block of type " + type + " among a partition's repeated keys");
      }
      while (in.hasMore()) {
        long h1 = in.getLong();
        int h2 = in.getInt();
        if (type == NOTICES) {
          table.add(h1, h2);
        } else {
          table.put(h1, h2, in.getLong());
        }
      }
    }
    return table;
  }

  /** The records of repeated keys, with their rank and partition. */
  static final class Candidates implements org.apache.spark.api.java.function.FlatMapFunction2<
      Iterator<Tuple2<Integer, byte[]>>, Iterator<Tuple2<Integer, byte[]>>, Tuple2<KeyHash, Chosen>> {
    private final PassLayout layout;

    Candidates(PassLayout layout) {
      this.layout = layout;
    }

    @Override
    public Iterator<Tuple2<KeyHash, Chosen>> call(Iterator<Tuple2<Integer, byte[]>> blocks,
                                                 Iterator<Tuple2<Integer, byte[]>> notices) {
      KeyTable table = keyInfo(notices);
      int partition = TaskContext.getPartitionId();
      List<Tuple2<KeyHash, Chosen>> found = new ArrayList<>();
      RecordCursor c = new RecordCursor(blocks, RECORDS, true, layout.records);
      while (c.next()) {
        if (c.keyed && table.find(c.h1, c.h2) >= 0) {
          found.add(new Tuple2<>(new KeyHash(c.h1, c.h2), new Chosen(layout.rank(c.reader, c.position, c.map),
              partition)));
        }
      }
      return found.iterator();
    }
  }

  /**
   * Reduce side of the group or record partitions: drops the rows not kept of repeated keys and
   * folds the rest by group (one state per group and input partition, merged as they come), or
   * returns them. A fold holding more than {@code maxGroups} groups writes their states, sorted by
   * group, to a file on local disk and goes on; the files are merged at the end.
   */
  static final class RecordSide implements org.apache.spark.api.java.function.FlatMapFunction2<
      Iterator<Tuple2<Integer, byte[]>>, Iterator<Tuple2<Integer, byte[]>>, Row> {
    private final PassLayout layout;
    private final Fold<?> fold;
    private final int maxGroups;

    RecordSide(PassLayout layout, Fold<?> fold, int maxGroups) {
      this.layout = layout;
      this.fold = fold;
      this.maxGroups = maxGroups;
    }

    @Override
    public Iterator<Row> call(Iterator<Tuple2<Integer, byte[]>> blocks, Iterator<Tuple2<Integer, byte[]>> keys) {
      KeyTable table = keys.hasNext() ? keyInfo(keys) : null;
      RecordCursor c = new RecordCursor(blocks, RECORDS, true, layout.records);
      return fold == null ? rows(c, table) : new SpillingFold<>(layout, fold, maxGroups).fold(c, table);
    }

    private Iterator<Row> rows(RecordCursor c, KeyTable table) {
      int to = layout.values;
      return new Iterator<>() {
        private Row next;

        @Override
        public boolean hasNext() {
          while (next == null && c.next()) {
            if (kept(layout, table, c)) {
              Object[] v = new Object[to];
              for (int i = 0; i < to; i++) {
                v[i] = c.reader.value(i);
              }
              next = RowFactory.create(v);
            }
          }
          return next != null;
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          Row r = next;
          next = null;
          return r;
        }
      };
    }
  }

  /** False for a record of a repeated key that is not the row kept. */
  static boolean kept(PassLayout layout, KeyTable table, RecordCursor c) {
    if (table == null || !c.keyed) {
      return true;
    }
    int slot = table.find(c.h1, c.h2);
    return slot < 0 || (table.hasValue(slot)
        && table.value(slot) == fingerprint(layout.rank(c.reader, c.position, c.map)));
  }

  /** Decodes the rows set aside. */
  static final class SideRows implements
      org.apache.spark.api.java.function.FlatMapFunction<Iterator<Tuple2<Integer, byte[]>>, Row> {
    private final PassLayout layout;

    SideRows(PassLayout layout) {
      this.layout = layout;
    }

    @Override
    public Iterator<Row> call(Iterator<Tuple2<Integer, byte[]>> blocks) {
      RecordCursor c = new RecordCursor(blocks, SIDE, false, layout.side);
      int width = layout.side.fields();
      return new Iterator<>() {
        private Boolean ready;

        @Override
        public boolean hasNext() {
          if (ready == null) {
            ready = c.next();
          }
          return ready;
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          ready = null;
          Object[] v = new Object[width];
          for (int j = 0; j < width; j++) {
            v[j] = c.reader.value(j);
          }
          return RowFactory.create(v);
        }
      };
    }
  }
}
