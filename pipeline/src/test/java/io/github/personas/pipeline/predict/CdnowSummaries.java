package io.github.personas.pipeline.predict;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The CDNOW sample's published per-customer summaries (shared/datasets/cdnow, as lifetimes ships
 * them): weeks, calibration to 1997-09-30.
 */
final class CdnowSummaries {

  private static final Path DIR = Path.of("../../shared/datasets/cdnow");

  private CdnowSummaries() {}

  /** Rows of a summary file, header skipped, split on commas; the test is skipped without the data set. */
  static List<String[]> rows(String file) {
    Path p = DIR.resolve(file);
    assumeTrue(Files.isRegularFile(p), "shared/datasets is not beside the checkout");
    try {
      return Files.readAllLines(p).stream().skip(1).filter(l -> !l.isBlank()).map(l -> l.split(",")).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** (x, t_x, T) of every customer, aggregated to distinct histories, in weeks times {@code unit}. */
  static List<BgNbd.History> histories(double unit) {
    Map<List<Double>, Long> counts = new TreeMap<>((u, v) -> {
      for (int i = 0; i < 3; i++) {
        int c = Double.compare(u.get(i), v.get(i));
        if (c != 0) {
          return c;
        }
      }
      return 0;
    });
    for (String[] r : rows("cdnow_customers_summary.csv")) {
      counts.merge(List.of(Double.parseDouble(r[1]), Double.parseDouble(r[2]) * unit, Double.parseDouble(r[3]) * unit),
          1L, Long::sum);
    }
    return counts.entrySet().stream()
        .map(e -> new BgNbd.History(e.getKey().get(0), e.getKey().get(1), e.getKey().get(2), e.getValue())).toList();
  }
}
