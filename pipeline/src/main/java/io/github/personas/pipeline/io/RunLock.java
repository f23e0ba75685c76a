package io.github.personas.pipeline.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * An exclusive lock file held by one process while it changes one part of an output: who holds
 * it (run id, host, pid, start), kept fresh by a heartbeat, and taken over only when its holder
 * is provably gone.
 *
 * <p>A holder is gone when it ran on this host and its process no longer exists (or the pid now
 * belongs to a process started later), or when the lock's heartbeat is older than {@link
 * #STALE_AFTER}: a process on another host cannot be asked. The lock file is created atomically
 * (a hard link on a local disk, {@code create(overwrite=false)} elsewhere, which HDFS makes
 * atomic); on a file system where the heartbeat cannot be written the lock says so and is never
 * taken over by age.
 */
public final class RunLock implements AutoCloseable {

  private static final Logger LOG = LogManager.getLogger(RunLock.class);

  /** A lock whose heartbeat is older than this belongs to a run that is gone. */
  public static final Duration STALE_AFTER = Duration.ofMinutes(10);
  private static final Duration HEARTBEAT = Duration.ofMinutes(1);
  private static final String HOST = hostName();

  /**
   * Who holds a lock.
   *
   * @param runId          the run's id, unique per run (several runs may share a JVM)
   * @param host           the host name of the holder's process
   * @param pid            the holder's process id on {@code host}
   * @param processStarted when that process started, to tell a reused pid apart; null when unknown
   * @param started        when the run took the lock
   * @param heartbeat      whether the holder refreshes the lock's modification time
   */
  public record Holder(String runId, String host, long pid, Instant processStarted, Instant started,
                       boolean heartbeat) {

    /** The current process as the holder of a new lock. */
    static Holder current(boolean heartbeat) {
      ProcessHandle self = ProcessHandle.current();
      return new Holder(UUID.randomUUID().toString(), HOST, self.pid(), self.info().startInstant().orElse(null),
          Instant.now(), heartbeat);
    }

    /** For messages: run, host, pid and start. */
    public String describe() {
      return String.format("run %s on host %s, pid %d, started %s", runId, host, pid, started);
    }

    String toText() {
      return "run_id=" + runId + "\nhost=" + host + "\npid=" + pid + "\nprocess_started="
          + (processStarted == null ? "" : processStarted) + "\nstarted=" + started + "\nheartbeat=" + heartbeat + "\n";
    }

    /** The holder a lock file names, or empty when the file is incomplete or not a lock. */
    static Optional<Holder> parse(String text) {
      Properties p = new Properties();
      try {
        p.load(new java.io.StringReader(text));
        String processStarted = p.getProperty("process_started", "");
        return Optional.of(new Holder(p.getProperty("run_id"), p.getProperty("host"),
            Long.parseLong(p.getProperty("pid")), processStarted.isEmpty() ? null : Instant.parse(processStarted),
            Instant.parse(p.getProperty("started")), Boolean.parseBoolean(p.getProperty("heartbeat"))));
      } catch (IOException | RuntimeException e) {
        return Optional.empty();
      }
    }
  }

  private final FileSystem fs;
  private final Path file;
  private final Holder holder;
  private final Optional<Holder> tookOver;
  private final ScheduledExecutorService heartbeat;

  private RunLock(FileSystem fs, Path file, Holder holder, Optional<Holder> tookOver) {
    this.fs = fs;
    this.file = file;
    this.holder = holder;
    this.tookOver = tookOver;
    if (holder.heartbeat()) {
      heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "personas-lock-heartbeat");
        t.setDaemon(true);
        return t;
      });
      heartbeat.scheduleAtFixedRate(this::beat, HEARTBEAT.toSeconds(), HEARTBEAT.toSeconds(), TimeUnit.SECONDS);
    } else {
      heartbeat = null;
    }
  }

  /**
   * Takes the lock {@code file}, taking it over from a holder that is gone.
   *
   * @param what what the lock protects, for messages ("2024-03-10 under /data/out")
   * @throws RunLockedException when a live holder has it
   */
  public static RunLock acquire(FileSystem fs, Path file, String what) {
    try {
      fs.mkdirs(file.getParent());
      Optional<Holder> tookOver = Optional.empty();
      // A few rounds: between reading a gone holder's lock and moving it aside, another run may do the same.
      for (int round = 0; round < 5; round++) {
        Holder me = Holder.current(true);
        if (createExclusive(fs, file, me.toText())) {
          me = withWorkingHeartbeat(fs, file, me);
          return new RunLock(fs, file, me, tookOver);
        }
        Optional<FileStatus> status = status(fs, file);
        if (status.isEmpty()) {
          continue; // released between our attempt and the look
        }
        Optional<Holder> other = read(fs, file);
        if (alive(other, status.get(), Instant.now())) {
          throw new RunLockedException(file.toString(), other.orElse(null), what);
        }
        Optional<Holder> moved = moveAside(fs, file, other, me.runId());
        if (moved.isPresent()) {
          tookOver = moved;
          LOG.warn("Took over the lock on {} from {}, which is no longer running ({})", what,
              moved.get().describe(), file);
        }
      }
      throw new RunLockedException(file.toString(), read(fs, file).orElse(null), what);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot take the lock " + file, e);
    }
  }

  /** Who holds this lock: this run. */
  public Holder holder() {
    return holder;
  }

  /** The gone holder this lock was taken over from, if any. */
  public Optional<Holder> tookOver() {
    return tookOver;
  }

  /** The lock file. */
  public Path file() {
    return file;
  }

  /**
   * Fails unless the lock file still names this run: a run whose heartbeat stalled past {@link
   * #STALE_AFTER} may have been taken over, and must not then publish.
   */
  public void checkHeld() {
    Optional<Holder> now;
    try {
      now = read(fs, file);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the lock " + file, e);
    }
    if (now.isEmpty() || !now.get().runId().equals(holder.runId())) {
      throw new IllegalStateException(String.format("This run (%s) no longer holds the lock %s: %s took it over;"
          + " nothing of this run is published", holder.describe(), file,
          now.map(Holder::describe).orElse("nobody")));
    }
  }

  /** Stops the heartbeat and removes the lock file if it still names this run. */
  @Override
  public void close() {
    if (heartbeat != null) {
      heartbeat.shutdownNow();
    }
    try {
      Optional<Holder> now = read(fs, file);
      if (now.isPresent() && now.get().runId().equals(holder.runId())) {
        fs.delete(file, false);
      }
    } catch (IOException e) {
      LOG.warn("Cannot remove the lock {}: {}", file, e.getMessage());
    }
  }

  private void beat() {
    try {
      fs.setTimes(file, System.currentTimeMillis(), -1);
    } catch (IOException | RuntimeException e) {
      LOG.warn("Cannot refresh the lock {}: {}", file, e.getMessage());
    }
  }

  /**
   * A live holder: on this host, its process still exists (and is the same process, not a reused
   * pid) and its heartbeat is fresh; elsewhere, its heartbeat is fresh. An unreadable lock is one
   * being written, live until its modification time is old.
   */
  static boolean alive(Optional<Holder> holder, FileStatus status, Instant now) {
    boolean fresh = Duration.between(Instant.ofEpochMilli(status.getModificationTime()), now).compareTo(STALE_AFTER) < 0;
    if (holder.isEmpty()) {
      return fresh;
    }
    Holder h = holder.get();
    if (h.host().equals(HOST)) {
      Optional<ProcessHandle> p = ProcessHandle.of(h.pid());
      if (p.isEmpty() || !p.get().isAlive()) {
        return false;
      }
      Optional<Instant> started = p.get().info().startInstant();
      if (h.processStarted() != null && started.isPresent()
          && Duration.between(h.processStarted(), started.get()).abs().compareTo(Duration.ofSeconds(2)) > 0) {
        return false; // the pid was reused by a process started later
      }
    }
    return fresh || !h.heartbeat();
  }

  /** Moves a gone holder's lock aside; empty when another run moved or replaced it first. */
  private static Optional<Holder> moveAside(FileSystem fs, Path file, Optional<Holder> judged, String runId)
      throws IOException {
    Path aside = new Path(file.getParent(), file.getName() + ".gone-" + runId);
    if (!fs.rename(file, aside)) {
      return Optional.empty();
    }
    Optional<Holder> moved = read(fs, aside);
    if (!moved.equals(judged)) {
      // Another run took the lock over between our look and the move: give it back.
      String text = moved.map(Holder::toText).orElse("");
      createExclusive(fs, file, text);
      fs.delete(aside, false);
      return Optional.empty();
    }
    fs.delete(aside, false);
    return judged.isPresent() ? judged : Optional.of(new Holder("unknown", "unknown", -1, null, Instant.EPOCH, true));
  }

  /** Records in the lock that it has no heartbeat when this file system cannot set times. */
  private static Holder withWorkingHeartbeat(FileSystem fs, Path file, Holder me) throws IOException {
    try {
      fs.setTimes(file, System.currentTimeMillis(), -1);
      return me;
    } catch (IOException | UnsupportedOperationException e) {
      Holder still = new Holder(me.runId(), me.host(), me.pid(), me.processStarted(), me.started(), false);
      try (OutputStream out = fs.create(file, true)) {
        out.write(still.toText().getBytes(StandardCharsets.UTF_8));
      }
      LOG.warn("The lock {} cannot carry a heartbeat on this file system ({}): if this run dies, remove it by hand",
          file, e.getMessage());
      return still;
    }
  }

  /** Creates {@code file} with {@code text} unless it exists, atomically where the file system allows. */
  private static boolean createExclusive(FileSystem fs, Path file, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    if ("file".equals(fs.getScheme())) {
      // The local file system's create(overwrite=false) checks, then creates: two runs can both
      // pass. A hard link to a complete file is atomic and fails when the name exists.
      java.nio.file.Path target = java.nio.file.Path.of(fs.makeQualified(file).toUri());
      java.nio.file.Path tmp = Files.createTempFile(target.getParent(), ".lock-", ".tmp");
      try {
        Files.write(tmp, bytes);
        Files.createLink(target, tmp);
        return true;
      } catch (FileAlreadyExistsException e) {
        return false;
      } finally {
        Files.deleteIfExists(tmp);
      }
    }
    try (OutputStream out = fs.create(file, false)) {
      out.write(bytes);
      return true;
    } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      if (fs.exists(file)) {
        return false;
      }
      throw e;
    }
  }

  private static Optional<FileStatus> status(FileSystem fs, Path file) throws IOException {
    try {
      return Optional.of(fs.getFileStatus(file));
    } catch (java.io.FileNotFoundException e) {
      return Optional.empty();
    }
  }

  private static Optional<Holder> read(FileSystem fs, Path file) throws IOException {
    try (InputStream in = fs.open(file)) {
      return Holder.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (java.io.FileNotFoundException e) {
      return Optional.empty();
    }
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }
}
