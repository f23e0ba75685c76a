package io.github.personas.pipeline.engine;

import java.util.ArrayDeque;
import java.util.Deque;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.storage.StorageLevel;

/**
 * The one owner of what a run caches and broadcasts: everything registered here is released
 * together when the run ends ({@link #close()}, in a {@code finally}), never earlier.
 *
 * <p>Releasing a cache early is a trap: Spark drops the cached data of every plan built on a
 * Dataset that is unpersisted, so a later stage silently computes its input again. Like MLlib's
 * {@code KMeans.fit}, {@link #persist} caches an input only when nobody cached it already, and
 * then leaves it to whoever did.
 */
public final class Caches implements AutoCloseable {

  private static final Logger LOG = LogManager.getLogger(Caches.class);

  private final Deque<Runnable> releases = new ArrayDeque<>();
  private int datasets;

  /**
   * Caches {@code d} in memory and on disk unless it is cached already.
   *
   * @return {@code d}, cached
   */
  public synchronized <T> Dataset<T> persist(Dataset<T> d) {
    return d.storageLevel().equals(StorageLevel.NONE())
        ? own(d.persist(StorageLevel.MEMORY_AND_DISK()), x -> x.unpersist(false)) : d;
  }

  /** Caches {@code rdd} in memory and on disk unless it is cached already. */
  public synchronized <T> JavaRDD<T> persist(JavaRDD<T> rdd) {
    return rdd.getStorageLevel().equals(StorageLevel.NONE())
        ? own(rdd.persist(StorageLevel.MEMORY_AND_DISK()), x -> x.unpersist(false)) : rdd;
  }

  /** Caches {@code rdd} in memory and on disk unless it is cached already; its partitioner stays. */
  public synchronized <K, V> JavaPairRDD<K, V> persist(JavaPairRDD<K, V> rdd) {
    return rdd.getStorageLevel().equals(StorageLevel.NONE())
        ? own(rdd.persist(StorageLevel.MEMORY_AND_DISK()), x -> x.unpersist(false)) : rdd;
  }

  private <T> T own(T cached, java.util.function.Consumer<T> release) {
    releases.push(() -> release.accept(cached));
    datasets++;
    return cached;
  }

  /** Broadcasts {@code value}, destroyed when the run ends. */
  public synchronized <T> Broadcast<T> broadcast(JavaSparkContext sc, T value) {
    Broadcast<T> b = sc.broadcast(value);
    releases.push(() -> b.destroy());
    return b;
  }

  /** Datasets and RDDs cached through this owner and not released yet. */
  public synchronized int cached() {
    return datasets;
  }

  /** Releases everything, newest first; a failure to release one does not keep the others. */
  @Override
  public synchronized void close() {
    Error error = null;
    while (!releases.isEmpty()) {
      try {
        releases.pop().run();
      } catch (RuntimeException e) {
        LOG.warn("Could not release a cache", e);
      } catch (Error e) {
        error = error == null ? e : error;
      }
    }
    datasets = 0;
    if (error != null) {
      throw error;
    }
  }
}
