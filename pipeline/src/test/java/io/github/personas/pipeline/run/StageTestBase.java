package io.github.personas.pipeline.run;

import io.github.personas.pipeline.engine.Caches;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the stage tests share: 300 generated users (with repeated and late events) written once
 * per test class, an output folder per test, and the test's cache owner, released after it.
 */
abstract class StageTestBase {

  static final long USERS = 300;

  @TempDir
  static Path shared;
  static Path data;

  @TempDir
  Path dir;

  final Caches caches = new Caches();
  /** The date locks this test's runs took, released after it. */
  final java.util.List<AutoCloseable> locks = new java.util.ArrayList<>();

  @BeforeAll
  static void generate() {
    data = RunFixture.generate(shared.resolve("data"), USERS);
  }

  @AfterEach
  void release() throws Exception {
    caches.close();
    for (AutoCloseable lock : locks) {
      lock.close();
    }
  }

  /** The context of a run into this test's output, staging, with {@code extra} configuration lines. */
  RunContext staged(String... extra) {
    return RunFixture.staged(RunFixture.config(data, dir.resolve("out"), extra), locks);
  }
}
