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
 * it (run id, machine, pid, start), kept fresh by a heartbeat, and taken over only when its holder
 * is provably gone.
 *
 * <p>A holder is gone when it ran on this machine (same host name, boot and pid namespace, so a
 * container sharing the host's name is not mistaken for it) and its process no longer exists or
 * the pid now belongs to a process started later; or, where its process cannot be asked, when the
 * lock's heartbeat (its modification time, refreshed every minute) is older than {@link
 * #STALE_AFTER}. The lock file is created atomically (a hard link on a local disk, {@code
 * create(overwrite=false)} elsewhere, which HDFS makes atomic), and taken over through an
 * exclusive {@code .takeover} file, so two runs cannot both take over one gone holder. Where the
 * modification time cannot be set (S3 ignores it), the lock says it has no heartbeat and is never
 * taken over by age.
 */
public final class RunLock implements AutoCloseable {

  private static final Logger LOG = LogManager.getLogger(RunLock.class);

  /** A lock whose heartbeat is older than this belongs to a run that is gone. */
  public static final Duration STALE_AFTER = Duration.ofMinutes(10);
  private static final Duration HEARTBEAT = Duration.ofMinutes(1);
  /** A takeover file older than this belongs to a run that died while taking over. */
  private static final Duration TAKEOVER_STALE = Duration.ofMinutes(1);
  private static final String MACHINE = machine();

  /**
   * Who holds a lock.
   *
   * @param runId          the run's id, unique per run (several runs may share a JVM)
   * @param host           the holder's machine: host name, and on Linux its boot id and pid namespace
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
      return new Holder(UUID.randomUUID().toString(), MACHINE, self.pid(), self.info().startInstant().orElse(null),
          Instant.now(), heartbeat);
    }

    /** For messages: run, host, pid and start. */
    public String describe() {
      return String.format("run %s on host %s, pid %d, started %s", runId, host.split("/")[0], pid, started);
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

  private RunLock(FileSystem fs, Path file, Holder holder, Optional<Holder> tookOver, Duration period) {
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
      heartbeat.scheduleAtFixedRate(this::beat, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    } else {
      heartbeat = null;
    }
  }

  /**
   * Takes the lock {@code file}, taking it over from a holder that is gone.
   *
   * @param what what the lock protects, for messages ("2024-03-10 into /data/out")
   * @throws RunLockedException when a live holder has it
   */
  public static RunLock acquire(FileSystem fs, Path file, String what) {
    return acquire(fs, file, what, HEARTBEAT);
  }

  /** {@link #acquire(FileSystem, Path, String)} with another heartbeat period (tests). */
  static RunLock acquire(FileSystem fs, Path file, String what, Duration heartbeat) {
    try {
      fs.mkdirs(file.getParent());
      Optional<Holder> tookOver = Optional.empty();
      // A few rounds: a holder may release, or another run take over, between our looks.
      for (int round = 0; round < 20; round++) {
        Holder me = Holder.current(true);
        if (createExclusive(fs, file, me.toText())) {
          me = withWorkingHeartbeat(fs, file, me);
          return new RunLock(fs, file, me, tookOver, heartbeat);
        }
        Optional<FileStatus> status = status(fs, file);
        if (status.isEmpty()) {
          continue; // released between our attempt and the look
        }
        Optional<Holder> other = read(fs, file);
        if (alive(other, status.get(), Instant.now())) {
          throw new RunLockedException(file.toString(), other.orElse(null), what);
        }
        Optional<Holder> gone = takeOver(fs, file, other, me.runId());
        if (gone.isPresent()) {
          tookOver = gone;
          LOG.warn("Took over the lock on {} from {}, which is no longer running ({})", what,
              gone.get().describe(), file);
        } else {
          sleepQuietly(Duration.ofMillis(50 + 50L * round));
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
      throw new RunLockedException(String.format("This run (%s) no longer holds the lock %s: %s took it over after"
          + " its heartbeat stopped for %d minutes; nothing of this run is published", holder.describe(), file,
          now.map(Holder::describe).orElse("nobody"), STALE_AFTER.toMinutes()));
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
    } catch (Throwable e) {
      // Caught whatever it is: an exception escaping a scheduled task silently ends the heartbeat.
      LOG.warn("Cannot refresh the lock {}: {}", file, e.toString());
    }
  }

  /**
   * A live holder. On this machine, whether its process exists (and is the same process, not a
   * reused pid) decides; elsewhere its heartbeat does. An unreadable lock is one being written,
   * live until its modification time is old.
   */
  static boolean alive(Optional<Holder> holder, FileStatus status, Instant now) {
    boolean fresh = Duration.between(Instant.ofEpochMilli(status.getModificationTime()), now).compareTo(STALE_AFTER) < 0;
    if (holder.isEmpty()) {
      return fresh;
    }
    Holder h = holder.get();
    if (h.host().equals(MACHINE) && !MACHINE.equals(UNKNOWN_MACHINE)) {
      Optional<ProcessHandle> p = ProcessHandle.of(h.pid());
      if (p.isEmpty() || !p.get().isAlive()) {
        return false;
      }
      Optional<Instant> started = p.get().info().startInstant();
      return h.processStarted() == null || started.isEmpty()
          || Duration.between(h.processStarted(), started.get()).abs().compareTo(Duration.ofSeconds(2)) <= 0;
    }
    return fresh || !h.heartbeat();
  }

  /**
   * Replaces a gone holder's lock by nothing, through the exclusive file {@code <lock>.takeover}:
   * only the run that creates it may delete the lock, and only if the lock still names the holder
   * judged gone. Empty when another run is taking over or took over first.
   */
  private static Optional<Holder> takeOver(FileSystem fs, Path file, Optional<Holder> judged, String runId)
      throws IOException {
    Path marker = new Path(file.getParent(), file.getName() + ".takeover");
    if (!createExclusive(fs, marker, runId)) {
      Optional<FileStatus> st = status(fs, marker);
      if (st.isPresent() && Duration.between(Instant.ofEpochMilli(st.get().getModificationTime()), Instant.now())
          .compareTo(TAKEOVER_STALE) > 0) {
        fs.delete(marker, false); // left by a run that died while taking over
      }
      return Optional.empty();
    }
    try {
      if (!read(fs, file).equals(judged)) {
        return Optional.empty(); // released or taken since we judged it
      }
      fs.delete(file, false);
      return Optional.of(judged.orElse(new Holder("unknown", "unknown", -1, null, Instant.EPOCH, true)));
    } finally {
      fs.delete(marker, false);
    }
  }

  /**
   * Records in the lock that it has no heartbeat when this file system cannot set a file's
   * modification time: S3's setTimes does nothing and says nothing, so the time is read back.
   */
  private static Holder withWorkingHeartbeat(FileSystem fs, Path file, Holder me) throws IOException {
    long probe = (System.currentTimeMillis() / 1000 - 3600) * 1000; // an hour ago, whole seconds
    boolean works;
    try {
      fs.setTimes(file, probe, -1);
      works = fs.getFileStatus(file).getModificationTime() == probe;
      fs.setTimes(file, System.currentTimeMillis(), -1);
    } catch (IOException | UnsupportedOperationException e) {
      works = false;
    }
    if (works) {
      return me;
    }
    Holder still = new Holder(me.runId(), me.host(), me.pid(), me.processStarted(), me.started(), false);
    try (OutputStream out = fs.create(file, true)) {
      out.write(still.toText().getBytes(StandardCharsets.UTF_8));
    }
    LOG.warn("The lock {} cannot carry a heartbeat on this file system: if this run dies on another machine,"
        + " delete the lock once you know it is gone", file);
    return still;
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

  /** This machine as lock files name it. */
  static String thisMachine() {
    return MACHINE;
  }

  /** What a lock file says when this machine could not be named; never trusted for a pid check. */
  static final String UNKNOWN_MACHINE = "unknown-machine";

  /**
   * This machine as a lock names it: the host name, and on Linux the boot id and the pid
   * namespace, which tell apart containers that share a host name and a pid.
   */
  private static String machine() {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return UNKNOWN_MACHINE;
    }
    StringBuilder id = new StringBuilder(host);
    try {
      id.append('/').append(Files.readString(java.nio.file.Path.of("/proc/sys/kernel/random/boot_id")).strip());
      id.append('/').append(Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/pid")));
    } catch (IOException | RuntimeException e) {
      // Not Linux: the host name alone.
    }
    return id.toString();
  }

  private static void sleepQuietly(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
