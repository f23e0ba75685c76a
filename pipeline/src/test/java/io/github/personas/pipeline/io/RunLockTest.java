package io.github.personas.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunLockTest {

  @TempDir
  Path dir;

  private final FileSystem fs = local();

  private static FileSystem local() {
    try {
      return FileSystem.getLocal(new Configuration());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private org.apache.hadoop.fs.Path lockFile() {
    return new org.apache.hadoop.fs.Path(dir.resolve("_locks/dt=2024-03-10.lock").toUri());
  }

  /** Writes a lock file as another holder would have. */
  private Path plant(RunLock.Holder holder) throws Exception {
    Path file = dir.resolve("_locks/dt=2024-03-10.lock");
    Files.createDirectories(file.getParent());
    Files.writeString(file, holder.toText());
    return file;
  }

  private static String thisHost() {
    return RunLock.thisMachine();
  }

  @Test
  void aSecondRunIsRefusedWhileTheFirstHoldsTheLockAndNamesTheHolder() {
    try (RunLock first = RunLock.acquire(fs, lockFile(), "2024-03-10 into /out")) {
      RunLockedException e = assertThrows(RunLockedException.class,
          () -> RunLock.acquire(fs, lockFile(), "2024-03-10 into /out"));
      RunLock.Holder h = first.holder();
      assertTrue(e.getMessage().startsWith("Another run of 2024-03-10 into /out is in progress: run " + h.runId()
          + " on host " + h.host().split("/")[0] + ", pid " + ProcessHandle.current().pid()), e.getMessage());
      assertTrue(e.getMessage().contains(lockFile().toString()), "names the lock file: " + e.getMessage());
      assertEquals(h, e.holder().orElseThrow());
    }
    try (RunLock again = RunLock.acquire(fs, lockFile(), "2024-03-10 into /out")) {
      assertTrue(again.tookOver().isEmpty(), "released by close: taken afresh, not over");
    }
    assertFalse(Files.exists(dir.resolve("_locks/dt=2024-03-10.lock")), "closing removes the lock file");
  }

  @Test
  void ofManyRunsStartingAtOnceExactlyOneGetsTheLock() throws Exception {
    int runs = 8;
    ExecutorService pool = Executors.newFixedThreadPool(runs);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<RunLock>> tries = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      tries.add(pool.submit(() -> {
        start.await();
        try {
          return RunLock.acquire(fs, lockFile(), "D");
        } catch (RunLockedException e) {
          return null;
        }
      }));
    }
    start.countDown();
    List<RunLock> got = new ArrayList<>();
    for (Future<RunLock> f : tries) {
      RunLock l = f.get(30, TimeUnit.SECONDS);
      if (l != null) {
        got.add(l);
      }
    }
    pool.shutdown();
    assertEquals(1, got.size(), "exactly one of " + runs + " holds the lock");
    got.get(0).close();
  }

  @Test
  void theLockOfAProcessOnThisHostThatIsGoneIsTakenOver() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    Instant started = gone.info().startInstant().orElse(null);
    gone.waitFor();
    plant(new RunLock.Holder("dead-run", thisHost(), gone.pid(), started, Instant.now(), true));
    try (RunLock lock = RunLock.acquire(fs, lockFile(), "D")) {
      assertEquals("dead-run", lock.tookOver().orElseThrow().runId());
      lock.checkHeld();
    }
  }

  @Test
  void aReusedPidDoesNotKeepALockAlive() throws Exception {
    // This JVM's pid, but the lock says its process started a day earlier: another process, gone.
    Instant before = ProcessHandle.current().info().startInstant().orElseThrow().minus(Duration.ofDays(1));
    plant(new RunLock.Holder("old-run", thisHost(), ProcessHandle.current().pid(), before, Instant.now(), true));
    try (RunLock lock = RunLock.acquire(fs, lockFile(), "D")) {
      assertEquals("old-run", lock.tookOver().orElseThrow().runId());
    }
  }

  @Test
  void aLockFromAnotherHostIsLiveUntilItsHeartbeatIsOlderThanTheLimit() throws Exception {
    Path file = plant(new RunLock.Holder("remote-run", "some-other-host", 4242, null, Instant.now(), true));
    assertThrows(RunLockedException.class, () -> RunLock.acquire(fs, lockFile(), "D"), "fresh heartbeat: live");
    Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(
        Instant.now().minus(RunLock.STALE_AFTER).minusSeconds(5)));
    try (RunLock lock = RunLock.acquire(fs, lockFile(), "D")) {
      assertEquals("remote-run", lock.tookOver().orElseThrow().runId());
    }
  }

  @Test
  void aLiveProcessOnThisMachineKeepsItsLockEvenWhenItsHeartbeatIsOld() throws Exception {
    // A long garbage-collection pause, say: the process is there, so the run is not gone.
    Path file = plant(new RunLock.Holder("paused-run", thisHost(), ProcessHandle.current().pid(),
        ProcessHandle.current().info().startInstant().orElse(null), Instant.now(), true));
    Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(Instant.now().minus(Duration.ofDays(1))));
    assertThrows(RunLockedException.class, () -> RunLock.acquire(fs, lockFile(), "D"));
  }

  @Test
  void aContainerSharingTheHostNameIsJudgedByItsHeartbeatNotByAPidOfAnotherNamespace() throws Exception {
    // Same host name, another boot or pid namespace: its pid 1 is not ours, and a dead pid proves nothing.
    String sameNameOtherNamespace = thisHost().split("/")[0] + "/other-boot/pid:[1]";
    Path file = plant(new RunLock.Holder("container-run", sameNameOtherNamespace, 999_999_999L, null, Instant.now(),
        true));
    assertThrows(RunLockedException.class, () -> RunLock.acquire(fs, lockFile(), "D"), "fresh heartbeat: live");
    Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(
        Instant.now().minus(RunLock.STALE_AFTER).minusSeconds(5)));
    try (RunLock lock = RunLock.acquire(fs, lockFile(), "D")) {
      assertEquals("container-run", lock.tookOver().orElseThrow().runId());
    }
  }

  @Test
  void theHeartbeatKeepsTheLockFresh() throws Exception {
    try (RunLock lock = RunLock.acquire(fs, lockFile(), "D", Duration.ofMillis(100))) {
      Path file = dir.resolve("_locks/dt=2024-03-10.lock");
      Instant old = Instant.now().minus(Duration.ofDays(1));
      Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(old));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (Files.getLastModifiedTime(file).toInstant().isBefore(Instant.now().minusSeconds(60))
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(Files.getLastModifiedTime(file).toInstant().isAfter(Instant.now().minusSeconds(60)),
          "refreshed by the heartbeat");
      assertTrue(lock.holder().heartbeat(), "a local disk keeps modification times");
    }
  }

  @Test
  void aLockWithoutHeartbeatIsNeverTakenOverByAge() throws Exception {
    Path file = plant(new RunLock.Holder("s3-run", "some-other-host", 4242, null, Instant.now(), false));
    Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(Instant.now().minus(Duration.ofDays(2))));
    assertThrows(RunLockedException.class, () -> RunLock.acquire(fs, lockFile(), "D"));
  }

  @Test
  void aRunWhoseLockWasTakenOverMayNotPublishNorRemoveTheNewHoldersLock() throws Exception {
    RunLock stalled = RunLock.acquire(fs, lockFile(), "D");
    // Another run judged it gone (say its heartbeat stalled) and holds the lock now.
    RunLock.Holder other = new RunLock.Holder("new-run", "some-other-host", 7, null, Instant.now(), true);
    Files.writeString(dir.resolve("_locks/dt=2024-03-10.lock"), other.toText());
    RunLockedException e = assertThrows(RunLockedException.class, stalled::checkHeld);
    assertTrue(e.getMessage().contains("no longer holds the lock") && e.getMessage().contains("new-run"),
        e.getMessage());
    stalled.close();
    assertEquals(other.toText(), Files.readString(dir.resolve("_locks/dt=2024-03-10.lock")),
        "the new holder's lock stays");
  }

  @Test
  void aLockFileThatIsNotALockCountsAsBeingWrittenUntilItIsOld() throws Exception {
    Path file = dir.resolve("_locks/dt=2024-03-10.lock");
    Files.createDirectories(file.getParent());
    Files.writeString(file, "");
    assertThrows(RunLockedException.class, () -> RunLock.acquire(fs, lockFile(), "D"));
    Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(
        Instant.now().minus(RunLock.STALE_AFTER).minusSeconds(5)));
    try (RunLock lock = RunLock.acquire(fs, lockFile(), "D")) {
      assertTrue(lock.tookOver().isPresent());
    }
  }
}
