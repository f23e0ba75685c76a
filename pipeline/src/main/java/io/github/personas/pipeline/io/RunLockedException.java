package io.github.personas.pipeline.io;

/**
 * Another live run holds the lock this run needs, or took it over from this run: two runs of the
 * same output and date at once, which the CLI ends with exit code 2, naming the other run.
 */
public final class RunLockedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The holder, when its lock file could be read. */
  private final transient RunLock.Holder holder;

  /**
   * @param file   the lock file
   * @param holder who holds it, or null when its lock file is still being written
   * @param what   what the lock protects, for the message
   */
  public RunLockedException(String file, RunLock.Holder holder, String what) {
    super(String.format("Another run of %s is in progress: %s (lock %s). Wait for it to end; if you are sure it is"
        + " gone (a process on another host is judged by its heartbeat, stale after %d minutes), delete the lock file.",
        what, holder == null ? "a run whose lock is still being written" : holder.describe(), file,
        RunLock.STALE_AFTER.toMinutes()));
    this.holder = holder;
  }

  /** A run that lost its lock: {@code message} says to whom. */
  public RunLockedException(String message) {
    super(message);
    this.holder = null;
  }

  /** Who holds the lock, if known. */
  public java.util.Optional<RunLock.Holder> holder() {
    return java.util.Optional.ofNullable(holder);
  }
}
