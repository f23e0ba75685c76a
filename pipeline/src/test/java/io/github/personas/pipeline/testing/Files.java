package io.github.personas.pipeline.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Writes small inline input files for tests. */
public final class Files {

  private Files() {}

  /** Writes {@code lines} joined by newlines to {@code dir/name}, creating folders; returns the path. */
  public static Path write(Path dir, String name, String... lines) {
    Path p = dir.resolve(name);
    try {
      java.nio.file.Files.createDirectories(p.getParent());
      java.nio.file.Files.writeString(p, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p;
  }

  /** Same as {@link #write} but gzip-compressed. */
  public static Path writeGzip(Path dir, String name, String... lines) {
    Path p = dir.resolve(name);
    try {
      java.nio.file.Files.createDirectories(p.getParent());
      try (OutputStream out = new GZIPOutputStream(java.nio.file.Files.newOutputStream(p))) {
        out.write((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p;
  }
}
