package io.github.personas.pipeline.engine;

import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.Partitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import scala.Tuple2;

/**
 * One pass over a source's rows that counts them by class, sets some aside (a quarantine),
 * keeps one row of each repeated key by a fixed rule, and folds the kept rows by group, reading
 * the input once however many keys repeat.
 *
 * <p>The input is read by one map stage, which writes one shuffle of byte blocks, each object a
 * block of many rows: the kept rows as compact records (by group), the 96-bit hashes of their
 * keys (by hash), the rows set aside, and the count of each class. Small jobs then read parts
 * of that shuffle, which Spark keeps and does not compute twice:
 * <ol>
 *   <li>the hash blocks give the class counts and the keys that occur more than once;</li>
 *   <li>only if some key repeats, the records of those keys are read and the row kept of each
 *       is chosen: the smallest by the {@linkplain Spec#order() order columns}, then by its
 *       place in the input (file name, block, position in the block);</li>
 *   <li>the records are folded, or returned, without the rows not chosen; a group's rows from
 *       one input partition are folded into one state and the states merged in the order of the
 *       partitions, so the result is as if the dropped rows had never been there;</li>
 *   <li>the rows set aside are decoded when their Dataset is read.</li>
 * </ol>
 * A repeated key therefore costs a read of the records (2), never a second read of the input.
 * Two keys are the same when their 64-bit xxHash and 32-bit Murmur3 hashes both are: a false
 * match among a billion distinct keys has a probability below 10^-11.
 */
public final class KeyedPass {

  private static final Logger LOG = LogManager.getLogger(KeyedPass.class);

  private static final int RECORDS = 1;
  private static final int HASHES = 2;
  private static final int COUNTS = 3;
  private static final int SIDE = 4;
  /** What a map task may hold in blocks not yet written, over all destinations. */
  private static final int BUFFER_BYTES = 32 << 20;

  /**
   * What a pass does with each row; every string is Spark SQL over the input's columns.
   *
   * @param rowClass    the class of a row (a non-null string); every class is counted
   * @param keepClass   the class of the rows that go on
   * @param side        true for the rows of other classes that are set aside; null for none
   * @param sideColumns the columns of the rows set aside, each {@code expr AS name}
   * @param key         the key of a kept row (a string); null keys never repeat. Null: no key
   * @param order       of the kept rows of one key, the one kept is the smallest by these
   *                    (bigint or string each), then by its place in the input
   * @param file        the file a row was read from (a string), or null for none
   * @param block       where in the file the row's input split starts (a bigint), or null
   * @param group       the column of the kept rows' group for a fold; null to return the rows
   * @param record      the columns of the returned rows, each {@code expr AS name}, when not folding
   */
  public record Spec(String rowClass, String keepClass, String side, List<String> sideColumns, String key,
                     List<String> order, String file, String block, String group, List<String> record) {
    public Spec {
      Objects.requireNonNull(rowClass, "rowClass");
      Objects.requireNonNull(keepClass, "keepClass");
      sideColumns = List.copyOf(sideColumns);
      order = List.copyOf(order);
      record = List.copyOf(record);
      if (side != null && sideColumns.isEmpty()) {
        throw new IllegalArgumentException("Rows set aside need columns");
      }
    }

    /** The same pass, folding by {@code groupColumn}. */
    public Spec foldingBy(String groupColumn) {
      return new Spec(rowClass, keepClass, side, sideColumns, key, order, file, block, groupColumn, record);
    }
  }

  /**
   * What a pass found. Both Datasets read the pass's shuffle: computing them reads no input.
   *
   * @param classes      rows per class, the kept class included
   * @param duplicates   kept rows dropped because an earlier row had their key
   * @param repeatedKeys keys that more than one kept row had
   * @param side         the rows set aside ({@link Spec#sideColumns()})
   * @param rows         the fold's rows (group column, then the fold's output) or the kept rows
   *                     ({@link Spec#record()}), without the dropped ones
   */
  public record Result(Map<String, Long> classes, long duplicates, long repeatedKeys, Dataset<Row> side,
                       Dataset<Row> rows) {}

  private KeyedPass() {}

  /**
   * Runs the pass: reads the input once and decides which rows to drop; the Datasets of the
   * result are computed from the pass's shuffle when they are read.
   *
   * @param fold   the per-group fold, or null to return the kept rows
   * @param caches owner of what the pass broadcasts
   */
  public static Result run(Dataset<Row> input, Spec spec, Fold<?> fold, Caches caches) {
    if (fold != null && spec.group() == null) {
      throw new IllegalArgumentException("A fold needs a group column");
    }
    SparkSession spark = input.sparkSession();
    int n = Math.max(1, Integer.parseInt(spark.conf().get("spark.sql.shuffle.partitions")));

    // One projection: class, side flag, key hashes, then the record's fields, then the side columns.
    List<Column> cols = new ArrayList<>();
    cols.add(functions.expr(spec.rowClass()));
    cols.add(spec.side() == null ? functions.lit(false) : functions.coalesce(functions.expr(spec.side()),
        functions.lit(false)));
    Column key = spec.key() == null ? functions.lit(null).cast(DataTypes.StringType) : functions.expr(spec.key());
    cols.add(functions.when(key.isNotNull(), functions.xxhash64(key)));
    cols.add(functions.when(key.isNotNull(), functions.hash(key)));
    // A record's fields: the fold's inputs (or the returned columns) first, so a fold reads them
    // where they are; then the group, the order columns and the row's place in the input.
    List<Column> fields = new ArrayList<>();
    List<String> values = fold != null ? fold.inputs() : spec.record();
    values.forEach(s -> fields.add(functions.expr(s)));
    if (fold != null) {
      fields.add(functions.col(spec.group()).cast(DataTypes.StringType));
    }
    for (String o : spec.order()) {
      fields.add(functions.expr(o));
    }
    fields.add(spec.file() == null ? functions.lit("") : functions.coalesce(functions.expr(spec.file()),
        functions.lit("")));
    fields.add(spec.block() == null ? functions.spark_partition_id().cast(DataTypes.LongType)
        : functions.coalesce(functions.expr(spec.block()).cast(DataTypes.LongType), functions.lit(-1L)));
    cols.addAll(fields);
    spec.sideColumns().forEach(s -> cols.add(functions.expr(s)));
    Dataset<Row> projected = input.select(cols.toArray(Column[]::new));
    StructType schema = projected.schema();
    Layout layout = new Layout(schema, values.size(), fold != null, spec.order().size(), spec.sideColumns().size());

    JavaPairRDD<Integer, byte[]> shuffled = projected.queryExecution().toRdd().toJavaRDD()
        .mapPartitionsToPair(new MapSide(layout, spec.keepClass(), n))
        .partitionBy(new Blocks(3 * n));

    // 1. Class counts and repeated keys, from the hash partitions.
    long t0 = System.nanoTime();
    List<HashSummary> summaries = prune(shuffled, n, 2 * n).mapPartitions(new HashSide()).collect();
    Map<String, Long> classes = new LinkedHashMap<>();
    RepeatedKeys repeated = new RepeatedKeys();
    for (HashSummary s : summaries) {
      s.classes.forEach((c, v) -> classes.merge(c, v, Long::sum));
      repeated.addAll(s.repeated);
    }
    long duplicates = repeated.duplicates();
    LOG.info("Pass over {} rows in {} s: {} keys repeat, {} rows to drop", classes.values().stream()
        .mapToLong(Long::longValue).sum(), seconds(t0), repeated.size(), duplicates);

    // 2. The row kept of each repeated key.
    Broadcast<KeyTable<byte[]>> kept = null;
    if (repeated.size() > 0) {
      long t1 = System.nanoTime();
      KeyTable<Boolean> keys = new KeyTable<>(repeated.size());
      for (int i = 0; i < repeated.size(); i++) {
        keys.put(repeated.h1(i), repeated.h2(i), Boolean.TRUE);
      }
      JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      Broadcast<KeyTable<Boolean>> candidates = caches.broadcast(sc, keys);
      List<Tuple2<KeyHash, byte[]>> chosen = prune(shuffled, 0, n)
          .mapPartitionsToPair(new Candidates(layout, candidates))
          .reduceByKey(KeyedPass::earlier)
          .collect();
      KeyTable<byte[]> table = new KeyTable<>(chosen.size());
      chosen.forEach(t -> table.put(t._1().h1(), t._1().h2(), t._2()));
      kept = caches.broadcast(sc, table);
      LOG.info("Chose the row kept of each of {} repeated keys in {} s", table.size(), seconds(t1));
    }

    // 3. and 4., lazily.
    JavaRDD<Row> out = prune(shuffled, 0, n).mapPartitions(new RecordSide(layout, fold, kept));
    Dataset<Row> rows = fold != null
        ? spark.createDataFrame(out, foldSchema(spec.group(), fold))
        : external(spark.createDataFrame(out, externalSchema(layout.recordSchema())), layout.recordSchema());
    Dataset<Row> side = external(spark.createDataFrame(prune(shuffled, 2 * n, 3 * n).mapPartitions(new SideRows(layout)),
        externalSchema(layout.sideSchema())), layout.sideSchema());
    return new Result(classes, duplicates, repeated.size(), side, rows);
  }

  private static double seconds(long t0) {
    return Math.round((System.nanoTime() - t0) / 1e7) / 100.0;
  }

  /** The partitions [from, to) of the pass's shuffle; the others are not computed. */
  private static JavaRDD<Tuple2<Integer, byte[]>> prune(JavaPairRDD<Integer, byte[]> shuffled, int from, int to) {
    return JavaRDD.fromRDD(PartitionPruningRDD.create(shuffled.rdd(), new Range(from, to)),
        scala.reflect.ClassTag$.MODULE$.apply(Tuple2.class));
  }

  /** The smaller of two ranks, bytes compared unsigned. */
  private static byte[] earlier(byte[] a, byte[] b) {
    return Arrays.compareUnsigned(a, b) <= 0 ? a : b;
  }

  private static StructType foldSchema(String group, Fold<?> fold) {
    List<StructField> f = new ArrayList<>();
    f.add(new StructField(group, DataTypes.StringType, false, org.apache.spark.sql.types.Metadata.empty()));
    f.addAll(List.of(fold.output().fields()));
    return new StructType(f.toArray(StructField[]::new));
  }

  /** The schema the codec's values come in: timestamps as bigint micros, dates as int days. */
  private static StructType externalSchema(StructType schema) {
    StructType out = new StructType();
    for (StructField f : schema.fields()) {
      DataType t = f.dataType().equals(DataTypes.TimestampType) ? DataTypes.LongType
          : f.dataType().equals(DataTypes.DateType) ? DataTypes.IntegerType : f.dataType();
      out = out.add(f.name(), t, true);
    }
    return out;
  }

  /** Turns the codec's bigint micros and int days back into timestamps and dates. */
  private static Dataset<Row> external(Dataset<Row> df, StructType schema) {
    List<Column> cols = new ArrayList<>();
    for (StructField f : schema.fields()) {
      Column c = df.col("`" + f.name().replace("`", "``") + "`");
      if (f.dataType().equals(DataTypes.TimestampType)) {
        c = functions.timestamp_micros(c);
      } else if (f.dataType().equals(DataTypes.DateType)) {
        c = functions.date_from_unix_date(c);
      }
      cols.add(c.as(f.name()));
    }
    return df.select(cols.toArray(Column[]::new));
  }

  /** Where each thing is in the projected rows, and the codecs of records and side rows. */
  private static final class Layout implements Serializable {
    static final int CLASS = 0;
    static final int SIDE_FLAG = 1;
    static final int H1 = 2;
    static final int H2 = 3;
    static final int FIELDS = 4;

    /** Record fields 0 to values - 1 are the fold's inputs or the returned columns. */
    final int values;
    final boolean folding;
    /** Record field of the group (when folding), the first order column, the file and the block. */
    final int group;
    final int firstOrder;
    final int orderCount;
    final int file;
    final int block;
    final int[] recordOrdinals;
    final int[] sideOrdinals;
    final RecordCodec records;
    final RecordCodec side;
    private final StructType schema;

    Layout(StructType schema, int values, boolean folding, int orderCount, int sideCount) {
      this.schema = schema;
      this.values = values;
      this.folding = folding;
      this.group = folding ? values : -1;
      this.firstOrder = values + (folding ? 1 : 0);
      this.orderCount = orderCount;
      this.file = firstOrder + orderCount;
      this.block = file + 1;
      int fieldCount = block + 1;
      recordOrdinals = new int[fieldCount];
      List<RecordCodec.Kind> kinds = new ArrayList<>();
      for (int i = 0; i < fieldCount; i++) {
        recordOrdinals[i] = FIELDS + i;
        DataType t = schema.fields()[FIELDS + i].dataType();
        if (i >= firstOrder && i < file && !t.equals(DataTypes.LongType) && !t.equals(DataTypes.StringType)) {
          throw new IllegalArgumentException("An order column must be a bigint or a string, not " + t.simpleString());
        }
        kinds.add(RecordCodec.Kind.of(t));
      }
      records = new RecordCodec(kinds);
      sideOrdinals = new int[sideCount];
      List<RecordCodec.Kind> sideKinds = new ArrayList<>();
      for (int i = 0; i < sideCount; i++) {
        sideOrdinals[i] = FIELDS + fieldCount + i;
        sideKinds.add(RecordCodec.Kind.of(schema.fields()[sideOrdinals[i]].dataType()));
      }
      side = new RecordCodec(sideKinds);
    }

    /** The returned columns (when not folding). */
    StructType recordSchema() {
      return new StructType(Arrays.copyOfRange(schema.fields(), FIELDS, FIELDS + values));
    }

    StructType sideSchema() {
      return new StructType(Arrays.copyOfRange(schema.fields(), FIELDS + recordOrdinals.length,
          FIELDS + recordOrdinals.length + sideOrdinals.length));
    }

    /** The rank of the current record: order fields, file, block, then position, bytes that compare unsigned. */
    byte[] rank(RecordCodec.Reader r, int position) {
      ByteSink out = new ByteSink(64);
      for (int i = firstOrder; i < file; i++) {
        putOrdered(out, r, i);
      }
      putOrdered(out, r, file);
      putOrdered(out, r, block);
      out.putByte(position >>> 24);
      out.putByte(position >>> 16);
      out.putByte(position >>> 8);
      out.putByte(position);
      return out.toByteArray();
    }

    private void putOrdered(ByteSink out, RecordCodec.Reader r, int i) {
      // Nulls first; a long big-endian with its sign flipped; a string's bytes with 0 escaped as 0 1, ended by 0 0.
      if (r.isNullAt(i)) {
        out.putByte(0);
        return;
      }
      out.putByte(1);
      if (records.kind(i) == RecordCodec.Kind.LONG) {
        long v = r.getLong(i) ^ Long.MIN_VALUE;
        for (int s = 56; s >= 0; s -= 8) {
          out.putByte((int) (v >>> s));
        }
      } else {
        UTF8String s = r.getUTF8String(i);
        for (byte b : s.getBytes()) {
          out.putByte(b);
          if (b == 0) {
            out.putByte(1);
          }
        }
        out.putByte(0);
        out.putByte(0);
      }
    }
  }

  /** Identity partitioner: the key of each block is its partition. */
  private static final class Blocks extends Partitioner {
    private final int partitions;

    Blocks(int partitions) {
      this.partitions = partitions;
    }

    @Override
    public int numPartitions() {
      return partitions;
    }

    @Override
    public int getPartition(Object key) {
      return (Integer) key;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Blocks b && b.partitions == partitions;
    }

    @Override
    public int hashCode() {
      return partitions;
    }
  }

  /** Partitions [from, to), as a Scala predicate for {@link PartitionPruningRDD}. */
  private static final class Range extends scala.runtime.AbstractFunction1<Object, Object> implements Serializable {
    private final int from;
    private final int to;

    Range(int from, int to) {
      this.from = from;
      this.to = to;
    }

    @Override
    public Object apply(Object partition) {
      int p = (Integer) partition;
      return p >= from && p < to;
    }
  }

  /** A key's 96-bit hash. */
  record KeyHash(long h1, int h2) implements Serializable {}

  /**
   * Map side: reads a partition of projected rows, counts classes, and writes blocks of kept
   * records (by group, or by input partition), of key hashes (by hash), of rows set aside, and
   * of the class counts. Each record starts with a header: whether it has a key, the key's
   * hashes, and its position after the previous record's.
   */
  private static final class MapSide implements
      org.apache.spark.api.java.function.PairFlatMapFunction<Iterator<InternalRow>, Integer, byte[]> {
    private final Layout layout;
    private final String keepClass;
    private final int n;

    MapSide(Layout layout, String keepClass, int n) {
      this.layout = layout;
      this.keepClass = keepClass;
      this.n = n;
    }

    @Override
    public Iterator<Tuple2<Integer, byte[]>> call(Iterator<InternalRow> rows) {
      int map = TaskContext.getPartitionId();
      UTF8String keep = UTF8String.fromString(keepClass);
      int recordBlock = Math.max(16 << 10, Math.min(1 << 20, BUFFER_BYTES / 2 / n));
      int hashBlock = Math.max(1024, recordBlock / 12);
      ByteSink[] records = new ByteSink[n];
      RecordCodec.Writer[] writers = new RecordCodec.Writer[n];
      int[] recordCount = new int[n];
      int[] lastPosition = new int[n];
      long[][] h1 = new long[n][];
      int[][] h2 = new int[n][];
      int[] hashCount = new int[n];
      ByteSink side = new ByteSink(1024);
      RecordCodec.Writer sideWriter = layout.side.writer();
      int[] sideCount = {0};
      Map<UTF8String, long[]> counts = new HashMap<>();
      long[] kept = {0};
      ArrayDeque<Tuple2<Integer, byte[]>> out = new ArrayDeque<>();
      int fileOrdinal = Layout.FIELDS + layout.file;
      int blockOrdinal = Layout.FIELDS + layout.block;
      int groupOrdinal = Layout.FIELDS + layout.group;

      return new Iterator<>() {
        private boolean done;
        private UTF8String file;
        private long block = Long.MIN_VALUE;
        private int position;
        /** Positions reached in blocks left for another, should their rows come back. */
        private final Map<Tuple2<UTF8String, Long>, Integer> positions = new HashMap<>();

        @Override
        public boolean hasNext() {
          while (out.isEmpty() && !done) {
            if (!rows.hasNext()) {
              done = true;
              finish();
              break;
            }
            InternalRow r = rows.next();
            // Every row has a place: its position counts from the start of its file's block. A
            // task reads a block's rows in order, usually one block after another.
            long b = r.getLong(blockOrdinal);
            UTF8String f = r.getUTF8String(fileOrdinal);
            if (b != block || !f.equals(file)) {
              if (file != null) {
                positions.put(new Tuple2<>(file, block), position);
              }
              block = b;
              file = f.clone();
              Integer seen = positions.get(new Tuple2<>(file, block));
              position = seen == null ? 0 : seen;
            }
            int at = position++;
            UTF8String c = r.getUTF8String(Layout.CLASS);
            if (!c.equals(keep)) {
              long[] k = counts.get(c);
              if (k == null) {
                counts.put(c.clone(), new long[] {1});
              } else {
                k[0]++;
              }
              if (r.getBoolean(Layout.SIDE_FLAG)) {
                sideWriter.write(r, layout.sideOrdinals, side);
                sideCount[0]++;
                if (side.size() >= recordBlock) {
                  flushSide();
                }
              }
              continue;
            }
            kept[0]++;
            boolean keyed = !r.isNullAt(Layout.H1);
            int dest = map % n;
            if (layout.folding) {
              if (r.isNullAt(groupOrdinal)) {
                throw new IllegalStateException("A kept row has no group: the pass's group column must not be null");
              }
              dest = Math.floorMod(r.getUTF8String(groupOrdinal).hashCode(), n);
            }
            if (keyed) {
              long a = r.getLong(Layout.H1);
              int hb = Math.floorMod(a, n);
              if (h1[hb] == null) {
                h1[hb] = new long[hashBlock];
                h2[hb] = new int[hashBlock];
              }
              h1[hb][hashCount[hb]] = a;
              h2[hb][hashCount[hb]] = r.getInt(Layout.H2);
              if (++hashCount[hb] == hashBlock) {
                flushHashes(hb);
              }
            }
            ByteSink sink = records[dest];
            if (sink == null) {
              sink = new ByteSink(recordBlock + 1024);
              records[dest] = sink;
              writers[dest] = layout.records.writer();
              startBlock(sink, RECORDS, map);
            }
            sink.putByte(keyed ? 1 : 0);
            if (keyed) {
              sink.putLong(r.getLong(Layout.H1));
              sink.putInt(r.getInt(Layout.H2));
            }
            sink.putSignedVarInt(at - lastPosition[dest]);
            lastPosition[dest] = at;
            writers[dest].write(r, layout.recordOrdinals, sink);
            recordCount[dest]++;
            if (sink.size() >= recordBlock) {
              flushRecords(dest);
            }
          }
          return !out.isEmpty();
        }

        private void startBlock(ByteSink sink, int type, int mapIndex) {
          sink.clear();
          sink.putByte(type);
          sink.putVarInt(mapIndex);
        }

        private void flushRecords(int dest) {
          ByteSink sink = records[dest];
          if (sink == null || recordCount[dest] == 0) {
            return;
          }
          out.add(new Tuple2<>(dest, sink.toByteArray()));
          startBlock(sink, RECORDS, map);
          writers[dest].reset();
          recordCount[dest] = 0;
          lastPosition[dest] = 0;
        }

        private void flushHashes(int hb) {
          int count = hashCount[hb];
          if (count == 0) {
            return;
          }
          ByteSink sink = new ByteSink(count * 12 + 16);
          startBlock(sink, HASHES, map);
          sink.putVarInt(count);
          for (int i = 0; i < count; i++) {
            sink.putLong(h1[hb][i]);
          }
          for (int i = 0; i < count; i++) {
            sink.putInt(h2[hb][i]);
          }
          out.add(new Tuple2<>(n + hb, sink.toByteArray()));
          hashCount[hb] = 0;
        }

        private void flushSide() {
          if (sideCount[0] == 0) {
            return;
          }
          ByteSink block = new ByteSink(side.size() + 16);
          startBlock(block, SIDE, map);
          block.putBytes(side.toByteArray(), 0, side.size());
          out.add(new Tuple2<>(2 * n + map % n, block.toByteArray()));
          side.clear();
          sideWriter.reset();
          sideCount[0] = 0;
        }

        private void finish() {
          for (int d = 0; d < n; d++) {
            flushRecords(d);
            flushHashes(d);
          }
          flushSide();
          counts.put(keep.clone(), kept);
          ByteSink sink = new ByteSink(256);
          startBlock(sink, COUNTS, map);
          sink.putVarInt(counts.size());
          counts.forEach((c, k) -> {
            sink.putString(c);
            sink.putLong(k[0]);
          });
          out.add(new Tuple2<>(n + map % n, sink.toByteArray()));
        }

        @Override
        public Tuple2<Integer, byte[]> next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          return out.poll();
        }
      };
    }
  }

  /** What a hash partition found: class counts and the keys repeated in it. */
  private static final class HashSummary implements Serializable {
    final Map<String, Long> classes = new HashMap<>();
    RepeatedKeys repeated = new RepeatedKeys();
  }

  /** Reduce side of the hash partitions: sums the counts, finds the repeated keys. */
  private static final class HashSide implements
      org.apache.spark.api.java.function.FlatMapFunction<Iterator<Tuple2<Integer, byte[]>>, HashSummary> {
    @Override
    public Iterator<HashSummary> call(Iterator<Tuple2<Integer, byte[]>> blocks) {
      HashSummary s = new HashSummary();
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
            s.classes.merge(c, in.getLong(), Long::sum);
          }
        } else if (type == HASHES) {
          hashBlocks.add(b);
          total += in.getVarInt();
        } else {
          throw new IllegalStateException("Block of type " + type + " in a hash partition");
        }
      }
      long[] a = new long[Math.toIntExact(total)];
      int[] c = new int[a.length];
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
        at += count;
      }
      s.repeated = RepeatedKeys.find(a, c, a.length);
      return List.of(s).iterator();
    }
  }

  /**
   * The records of a partition, one at a time, block by block in the order the blocks come:
   * each input partition's records of a destination in the order they were read.
   */
  private static final class Cursor {
    private final Iterator<Tuple2<Integer, byte[]>> blocks;
    private final int type;
    private final boolean headers;
    final RecordCodec.Reader reader;
    private ByteSource in;
    /** The input partition of the current record. */
    int map;
    boolean keyed;
    long h1;
    int h2;
    /** Position of the current record in its file's block. */
    int position;

    /**
     * @param type    the block type expected
     * @param headers true when records start with the key and position header
     */
    Cursor(Iterator<Tuple2<Integer, byte[]>> blocks, int type, boolean headers, RecordCodec codec) {
      this.blocks = blocks;
      this.type = type;
      this.headers = headers;
      this.reader = codec.reader();
    }

    /** Moves to the next record; false when there is none. */
    boolean next() {
      while (in == null || !in.hasMore()) {
        if (!blocks.hasNext()) {
          return false;
        }
        in = new ByteSource(blocks.next()._2());
        int t = in.getByte();
        if (t != type) {
          throw new IllegalStateException("Block of type " + t + " where blocks of type " + type + " belong");
        }
        map = in.getVarInt();
        reader.reset();
        position = 0;
      }
      if (headers) {
        keyed = in.getByte() != 0;
        h1 = keyed ? in.getLong() : 0;
        h2 = keyed ? in.getInt() : 0;
        position += in.getSignedVarInt();
      }
      reader.read(in);
      return true;
    }
  }

  /** The records of repeated keys, with their rank. */
  private static final class Candidates implements
      org.apache.spark.api.java.function.PairFlatMapFunction<Iterator<Tuple2<Integer, byte[]>>, KeyHash, byte[]> {
    private final Layout layout;
    private final Broadcast<KeyTable<Boolean>> keys;

    Candidates(Layout layout, Broadcast<KeyTable<Boolean>> keys) {
      this.layout = layout;
      this.keys = keys;
    }

    @Override
    public Iterator<Tuple2<KeyHash, byte[]>> call(Iterator<Tuple2<Integer, byte[]>> blocks) {
      KeyTable<Boolean> table = keys.value();
      List<Tuple2<KeyHash, byte[]>> found = new ArrayList<>();
      Cursor c = new Cursor(blocks, RECORDS, true, layout.records);
      while (c.next()) {
        if (c.keyed && table.get(c.h1, c.h2) != null) {
          found.add(new Tuple2<>(new KeyHash(c.h1, c.h2), layout.rank(c.reader, c.position)));
        }
      }
      return found.iterator();
    }
  }

  /**
   * Reduce side of the group or record partitions: drops the rows not kept of repeated keys and
   * folds the rest by group (one state per group and input partition, merged in order), or
   * returns them.
   */
  private static final class RecordSide implements
      org.apache.spark.api.java.function.FlatMapFunction<Iterator<Tuple2<Integer, byte[]>>, Row> {
    private final Layout layout;
    private final Fold<?> fold;
    private final Broadcast<KeyTable<byte[]>> kept;

    RecordSide(Layout layout, Fold<?> fold, Broadcast<KeyTable<byte[]>> kept) {
      this.layout = layout;
      this.fold = fold;
      this.kept = kept;
    }

    @Override
    public Iterator<Row> call(Iterator<Tuple2<Integer, byte[]>> blocks) {
      KeyTable<byte[]> table = kept == null ? null : kept.value();
      Cursor c = new Cursor(blocks, RECORDS, true, layout.records);
      return fold == null ? rows(c, table) : folded(c, table, fold);
    }

    /** False for a record of a repeated key that is not the row kept. */
    private boolean keep(KeyTable<byte[]> table, Cursor c) {
      if (table == null || !c.keyed) {
        return true;
      }
      byte[] winner = table.get(c.h1, c.h2);
      return winner == null || Arrays.equals(winner, layout.rank(c.reader, c.position));
    }

    private Iterator<Row> rows(Cursor c, KeyTable<byte[]> table) {
      int from = 0;
      int to = layout.values;
      return new Iterator<>() {
        private Row next;

        @Override
        public boolean hasNext() {
          while (next == null && c.next()) {
            if (keep(table, c)) {
              Object[] v = new Object[to - from];
              for (int i = from; i < to; i++) {
                v[i - from] = c.reader.value(i);
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

    /** A group's state, and the state of its rows from the input partition being read. */
    private static final class Group<S> {
      S state;
      S partial;
      int partialMap = -1;
    }

    private <S> Iterator<Row> folded(Cursor c, KeyTable<byte[]> table, Fold<S> f) {
      Map<UTF8String, Group<S>> groups = new HashMap<>();
      int groupField = layout.group;
      // The reader hands out the same string object while a field repeats: most rows skip the lookup.
      UTF8String lastString = null;
      Group<S> last = null;
      while (c.next()) {
        if (!keep(table, c)) {
          continue;
        }
        UTF8String g = c.reader.getUTF8String(groupField);
        if (g != lastString) {
          lastString = g;
          UTF8String key = g.clone();
          last = groups.get(key);
          if (last == null) {
            last = new Group<>();
            groups.put(key, last);
          }
        }
        if (last.partialMap != c.map) {
          settle(last, f);
          last.partial = f.create();
          last.partialMap = c.map;
        }
        // The fold's inputs are the record's first fields.
        f.add(last.partial, c.reader);
      }
      int width = f.output().fields().length;
      Iterator<Map.Entry<UTF8String, Group<S>>> it = groups.entrySet().iterator();
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return it.hasNext();
        }

        @Override
        public Row next() {
          Map.Entry<UTF8String, Group<S>> e = it.next();
          settle(e.getValue(), f);
          Object[] v = new Object[1 + width];
          v[0] = e.getKey().toString();
          f.emit(e.getValue().state, v, 1);
          it.remove();
          return RowFactory.create(v);
        }
      };
    }

    /** Merges the partial state into the group's state. */
    private static <S> void settle(Group<S> g, Fold<S> f) {
      if (g.partial == null) {
        return;
      }
      if (g.state == null) {
        g.state = g.partial;
      } else {
        f.merge(g.state, g.partial);
      }
      g.partial = null;
    }
  }

  /** Decodes the rows set aside. */
  private static final class SideRows implements
      org.apache.spark.api.java.function.FlatMapFunction<Iterator<Tuple2<Integer, byte[]>>, Row> {
    private final Layout layout;

    SideRows(Layout layout) {
      this.layout = layout;
    }

    @Override
    public Iterator<Row> call(Iterator<Tuple2<Integer, byte[]>> blocks) {
      Cursor c = new Cursor(blocks, SIDE, false, layout.side);
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
