package io.github.personas.pipeline.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.PartitionPruningRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * One pass over a source's rows that counts them by class, sets some aside (a quarantine),
 * keeps one row of each repeated key by a fixed rule, and folds the kept rows by group, reading
 * the input once however many keys repeat.
 *
 * <p>The input is read by one map stage, which writes one shuffle of byte blocks, each object a
 * block of many rows: the kept rows as compact records (by group), the 96-bit hashes of their
 * keys with the record partition of each (by hash), the rows set aside, and the count of each
 * class. Small jobs then read parts of that shuffle, which Spark keeps and does not compute twice:
 * <ol>
 *   <li>the hash partitions give the class counts and the keys that occur more than once, and
 *       send each record partition the repeated keys it holds rows of;</li>
 *   <li>only if some key repeats, the records of those keys are read and the row kept of each
 *       is chosen: the smallest by the {@linkplain Spec#order() order columns}, then by its
 *       place in the input (file name, block, position in the block, then the task that read
 *       it, so two rows never tie), and that row's partition alone is told, by a 64-bit
 *       fingerprint of the row's rank;</li>
 *   <li>the records are folded, or returned, without the rows not chosen; a group's rows from
 *       one input partition are folded into one state and the states merged as the partitions'
 *       blocks arrive (on one machine, in the partitions' order), so the result is as if the
 *       dropped rows had never been there;</li>
 *   <li>the rows set aside are decoded when their Dataset is read.</li>
 * </ol>
 * A repeated key therefore costs a read of the records (2), never a second read of the input,
 * and what a task holds about repeated keys is only what its own rows need: a day delivered
 * twice (every key repeated) is slower, not out of memory. A reduce task folding more groups than
 * {@link Spec#maxGroups()} writes their states to local disk, sorted, and merges them at the end.
 * Two keys are the same when their 64-bit xxHash and 32-bit Murmur3 hashes both are: a false match
 * among a billion distinct keys has a probability below 10^-11.
 */
public final class KeyedPass {

  static final Logger LOG = LogManager.getLogger(KeyedPass.class);

  static final int RECORDS = 1;
  static final int HASHES = 2;
  static final int COUNTS = 3;
  static final int SIDE = 4;
  static final int NOTICES = 5;
  static final int WINNER = 6;
  /** What a map task may hold in blocks not yet written, over all destinations. */
  static final int BUFFER_BYTES = 32 << 20;
  /** Groups a reduce task folds in memory before it writes their states to disk, by default. */
  public static final int DEFAULT_MAX_GROUPS = 250_000;

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
   * @param block       where in the file the row's input split starts (a bigint), or null. The
   *                    place of a row counts from there, so the rows of one block must reach the
   *                    pass in file order and from one task, as a file scan gives them: a shuffle
   *                    between the scan and the pass would lose "first in the file" (never the
   *                    uniqueness of the row kept)
   * @param group       the column of the kept rows' group for a fold; null to return the rows
   * @param record      the columns of the returned rows, each {@code expr AS name}, when not folding
   * @param maxGroups   groups a reduce task folds in memory before spilling their states to disk
   */
  public record Spec(String rowClass, String keepClass, String side, List<String> sideColumns, String key,
                     List<String> order, String file, String block, String group, List<String> record,
                     int maxGroups) {
    public Spec {
      Objects.requireNonNull(rowClass, "rowClass");
      Objects.requireNonNull(keepClass, "keepClass");
      sideColumns = List.copyOf(sideColumns);
      order = List.copyOf(order);
      record = List.copyOf(record);
      if (side != null && sideColumns.isEmpty()) {
        throw new IllegalArgumentException("Rows set aside need columns");
      }
      if (maxGroups < 1) {
        throw new IllegalArgumentException("maxGroups must be at least 1, got " + maxGroups);
      }
    }

    /** With {@link #DEFAULT_MAX_GROUPS}. */
    public Spec(String rowClass, String keepClass, String side, List<String> sideColumns, String key,
                List<String> order, String file, String block, String group, List<String> record) {
      this(rowClass, keepClass, side, sideColumns, key, order, file, block, group, record, DEFAULT_MAX_GROUPS);
    }

    /** The same pass, folding by {@code groupColumn}. */
    public Spec foldingBy(String groupColumn) {
      return new Spec(rowClass, keepClass, side, sideColumns, key, order, file, block, groupColumn, record,
          maxGroups);
    }

    /** The same pass, spilling above {@code groups} groups per reduce task. */
    public Spec withMaxGroups(int groups) {
      return new Spec(rowClass, keepClass, side, sideColumns, key, order, file, block, group, record, groups);
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
   * @param orderRange   the smallest and largest value of the first {@linkplain Spec#order() order
   *                     column} over the kept rows, those later dropped included, when that column
   *                     is a bigint and some kept row has it; null otherwise. Counted by the map
   *                     tasks as they pass the rows, so it costs no expression in the pass
   */
  public record Result(Map<String, Long> classes, long duplicates, long repeatedKeys, Dataset<Row> side,
                       Dataset<Row> rows, OrderRange orderRange) {}

  /** The smallest and largest value of an order column. */
  public record OrderRange(long min, long max) {}

  private KeyedPass() {}

  /**
   * Runs the pass: reads the input once and decides which rows to drop; the Datasets of the
   * result are computed from the pass's shuffle when they are read.
   *
   * @param fold   the per-group fold, or null to return the kept rows
   * @param caches owner of what the pass caches
   */
  public static Result run(Dataset<Row> input, Spec spec, Fold<?> fold, Caches caches) {
    if (fold != null && spec.group() == null) {
      throw new IllegalArgumentException("A fold needs a group column");
    }
    SparkSession spark = input.sparkSession();
    int n = Math.max(1, Integer.parseInt(spark.conf().get("spark.sql.shuffle.partitions")));
    if (n > 65_535) {
      throw new IllegalArgumentException("spark.sql.shuffle.partitions is " + n + "; the pass takes at most 65,535");
    }

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
    // Rows without a block (not read from a file) count their place within their partition.
    Column ownBlock = functions.lit(-1L).minus(functions.spark_partition_id().cast(DataTypes.LongType));
    fields.add(spec.block() == null ? ownBlock
        : functions.coalesce(functions.expr(spec.block()).cast(DataTypes.LongType), ownBlock));
    cols.addAll(fields);
    spec.sideColumns().forEach(s -> cols.add(functions.expr(s)));
    Dataset<Row> projected = input.select(cols.toArray(Column[]::new));
    StructType schema = projected.schema();
    PassLayout layout = new PassLayout(schema, values.size(), fold != null, spec.order().size(), spec.sideColumns().size());

    JavaPairRDD<Integer, byte[]> shuffled = projected.queryExecution().toRdd().toJavaRDD()
        .mapPartitionsToPair(new PassMap(layout, spec.keepClass(), n))
        .partitionBy(new Blocks(3 * n));

    // 1. Class counts and repeated keys, from the hash partitions; each record partition is sent
    //    the repeated keys it holds rows of.
    long t0 = System.nanoTime();
    JavaRDD<Tuple2<Integer, byte[]>> found = caches.persist(prune(shuffled, n, 2 * n).mapPartitions(new PassReduce.HashSide()));
    Map<String, Long> classes = new LinkedHashMap<>();
    long duplicates = 0;
    long repeated = 0;
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (Tuple2<Integer, byte[]> summary : found.filter(t -> t._1() < 0).collect()) {
      ByteSource in = new ByteSource(summary._2());
      int entries = in.getVarInt();
      for (int i = 0; i < entries; i++) {
        classes.merge(in.getString().toString(), in.getLong(), Long::sum);
      }
      min = Math.min(min, in.getLong());
      max = Math.max(max, in.getLong());
      duplicates += in.getLong();
      repeated += in.getLong();
    }
    LOG.info("Pass over {} rows in {} s: {} keys repeat, {} rows to drop", classes.values().stream()
        .mapToLong(Long::longValue).sum(), seconds(t0), repeated, duplicates);

    // 2. The row kept of each repeated key, told to the record partition that holds it: the
    //    winners are computed when the records are first folded, never cached (each is 20 bytes
    //    in a block to its partition, and there is one per repeated key).
    JavaRDD<Tuple2<Integer, byte[]>> records = prune(shuffled, 0, n);
    JavaPairRDD<Integer, byte[]> keyInfo = null;
    if (repeated > 0) {
      JavaPairRDD<Integer, byte[]> notices = found.filter(t -> t._1() >= 0).mapToPair(t -> t)
          .partitionBy(new Blocks(n));
      JavaPairRDD<Integer, byte[]> winners = records.zipPartitions(notices, new PassReduce.Candidates(layout))
          .mapToPair(t -> t)
          .reduceByKey(KeyedPass::earlier)
          .mapPartitionsToPair(KeyedPass::winnerBlocks)
          .partitionBy(new Blocks(n));
      keyInfo = notices.union(winners);
    }

    // 3. and 4., lazily.
    PassReduce.RecordSide reduce = new PassReduce.RecordSide(layout, fold, spec.maxGroups());
    JavaRDD<Row> out = keyInfo == null
        ? records.mapPartitions(blocks -> reduce.call(blocks, java.util.Collections.emptyIterator()))
        : records.zipPartitions(keyInfo, reduce);
    Dataset<Row> rows = fold != null
        ? spark.createDataFrame(out, foldSchema(spec.group(), fold))
        : external(spark.createDataFrame(out, externalSchema(layout.recordSchema())), layout.recordSchema());
    Dataset<Row> side = external(spark.createDataFrame(prune(shuffled, 2 * n, 3 * n).mapPartitions(new PassReduce.SideRows(layout)),
        externalSchema(layout.sideSchema())), layout.sideSchema());
    return new Result(classes, duplicates, repeated, side, rows, min <= max ? new OrderRange(min, max) : null);
  }

  /** Blocks telling each record partition which of its rows of repeated keys are kept: key, then fingerprint of the rank. */
  private static Iterator<Tuple2<Integer, byte[]>> winnerBlocks(Iterator<Tuple2<KeyHash, Chosen>> winners) {
    Map<Integer, ByteSink> blocks = new HashMap<>();
    List<Tuple2<Integer, byte[]>> out = new ArrayList<>();
    while (winners.hasNext()) {
      Tuple2<KeyHash, Chosen> w = winners.next();
      ByteSink b = blocks.computeIfAbsent(w._2().partition(), p -> {
        ByteSink fresh = new ByteSink(1 << 12);
        fresh.putByte(WINNER);
        return fresh;
      });
      b.putLong(w._1().h1());
      b.putInt(w._1().h2());
      b.putLong(w._2().fingerprint());
      if (b.size() >= 1 << 20) {
        out.add(new Tuple2<>(w._2().partition(), b.toByteArray()));
        blocks.remove(w._2().partition());
      }
    }
    blocks.forEach((p, b) -> out.add(new Tuple2<>(p, b.toByteArray())));
    return out.iterator();
  }

  /**
   * A 64-bit fingerprint of a row's rank, by which its partition recognises the row kept: two
   * copies of one key, whose ranks always differ, share one with probability 2^-64.
   */
  static long fingerprint(byte[] rank) {
    long h = 0x9E3779B97F4A7C15L ^ rank.length;
    for (byte b : rank) {
      h = (h ^ (b & 0xFF)) * 0x100000001B3L;
      h ^= h >>> 29;
    }
    // The final mix of MurmurHash3.
    h ^= h >>> 33;
    h *= 0xFF51AFD7ED558CCDL;
    h ^= h >>> 33;
    h *= 0xC4CEB9FE1A85EC53L;
    return h ^ (h >>> 33);
  }

  static double seconds(long t0) {
    return Math.round((System.nanoTime() - t0) / 1e7) / 100.0;
  }

  /** The partitions [from, to) of the pass's shuffle; the others are not computed. */
  private static JavaRDD<Tuple2<Integer, byte[]>> prune(JavaPairRDD<Integer, byte[]> shuffled, int from, int to) {
    return JavaRDD.fromRDD(PartitionPruningRDD.create(shuffled.rdd(), new Range(from, to)),
        scala.reflect.ClassTag$.MODULE$.apply(Tuple2.class));
  }

  /** Of two candidate rows, the one of smaller rank (bytes compared unsigned). */
  private static Chosen earlier(Chosen a, Chosen b) {
    return Arrays.compareUnsigned(a.rank(), b.rank()) <= 0 ? a : b;
  }

  /** A candidate row of a repeated key: its rank, and the record partition that holds it. */
  record Chosen(byte[] rank, int partition) implements Serializable {
    long fingerprint() {
      return KeyedPass.fingerprint(rank);
    }
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

}
