package io.github.personas.pipeline.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.segment.Traits;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class RunReportTest {

  private static final Path GOLDEN = Path.of("src/test/resources/golden/report.md");

  /** A small fixed run: two personas, a previous run, three k candidates. */
  static ReportData fixed() {
    Map<String, Object> headline = new LinkedHashMap<>();
    headline.put("users", 1000L);
    headline.put("buyers", 300L);
    headline.put("revenue", 12345.678);
    headline.put("holdout_users", 100L);
    headline.put("conversion_rate", 0.3);
    headline.put("arpu", 12.345678);
    headline.put("active_rate_30d", 0.7125);
    return new ReportData("2024-03-10", "1.2.3", headline,
        List.of(
            new ReportData.SegmentRow("persona_id", "P01", 700, 0.7, 0.1, 0.3333, true, 2.5, 0.2025, true, 0.6),
            new ReportData.SegmentRow("persona_id", "P02", 300, 0.3, 0.7667, 2.5556, true, 35.3, 2.86, true, 0.95),
            new ReportData.SegmentRow("rfm_segment", "Prospects", 700, 0.7, 0.0, 0.0, true, 0.0, 0.0, true, null)),
        List.of(
            new ReportData.PersonaCard("P01", "Quiet browsers", "clustered", 700, 0.7, "sessions_30d <= 2", 0.91, 0.87,
                List.of(trait("sessions_30d", "median", 1.5, 4.05), trait("frequency", "median", 0.1, 0.4)),
                "Build the habit", "push", "Deep links into the best features"),
            new ReportData.PersonaCard("P02", "Frequent big spenders", "clustered", 300, 0.3,
                "frequency >= 6 AND monetary > 2100", 0.93, 0.88,
                List.of(trait("frequency", "median", 1.1, 0.4), trait("uninstalled", "mean", 0.0, 0.0)),
                "Reward and advocacy", null, "VIP perks")),
        List.of(new ReportData.KPoint(2, 900.0, 0.61, false), new ReportData.KPoint(3, 400.0, 0.72, true),
            new ReportData.KPoint(4, 380.0, Double.NaN, false)),
        "k = 3 has the best silhouette, 0.720, by more than 0.020",
        List.of(new ReportData.Transition("P01", "P01", 680), new ReportData.Transition("P01", "P02", 10),
            new ReportData.Transition("P02", "P02", 290), new ReportData.Transition("(new)", "P01", 10),
            new ReportData.Transition("P01", "(gone)", 5)),
        List.of(new ReportData.HistoryPoint("2024-03-09", "P01", 695), new ReportData.HistoryPoint("2024-03-09", "P02", 300),
            new ReportData.HistoryPoint("2024-03-10", "P01", 700), new ReportData.HistoryPoint("2024-03-10", "P02", 300)),
        List.of(new ReportData.QualityRow("events", "read", 5000), new ReportData.QualityRow("events", "accepted", 4990),
            new ReportData.QualityRow("events", "quarantined: event_after_run_date", 10)));
  }

  @Test
  void markdownMatchesTheGoldenFile() throws Exception {
    String md = new RunReport(fixed()).markdown();
    if (Boolean.getBoolean("personas.updateGolden")) {
      Files.writeString(GOLDEN, md, StandardCharsets.UTF_8);
    }
    assertEquals(Files.readString(GOLDEN, StandardCharsets.UTF_8), md,
        "report.md changed: review it, then run with -Dpersonas.updateGolden=true to accept");
  }

  @Test
  void htmlIsSelfContainedWithChartsDrawnAsInlineSvg() {
    String html = new RunReport(fixed()).html();
    assertTrue(html.startsWith("<!DOCTYPE html>"));
    // Five charts: sizes, KPIs, transitions heatmap, history, k curve.
    assertEquals(5, count(html, "<svg "), "inline SVG charts");
    assertTrue(html.contains("Frequent big spenders") && html.contains("Users moving between personas"));
    // Nothing fetched from elsewhere: no src or href, no CSS url() and no @import, except references
    // to fragments of the page itself (SVG clip paths are url(#id)).
    Matcher external = Pattern.compile("(?i)((src|href)\\s*=\\s*['\"]?(?!#)|url\\(\\s*['\"]?(?!#)|@import)")
        .matcher(html);
    assertFalse(external.find(), () -> "external reference: " + html.substring(Math.max(0, external.start() - 80),
        Math.min(html.length(), external.end() + 80)));
  }

  @Test
  void aFirstRunSaysThereIsNothingToCompareWith() {
    ReportData f = fixed();
    ReportData first = new ReportData(f.runDate(), f.version(), f.headline(), f.segments(), f.personas(), f.kSelection(),
        f.kReason(), List.of(), f.history(), f.quality());
    assertTrue(new RunReport(first).markdown().contains("First run in this output"));
    assertEquals(4, count(new RunReport(first).html(), "<svg "));
  }

  private static String trait(String column, String statistic, double value, double population) {
    return Traits.describe(new io.github.personas.pipeline.segment.PersonaProfiles.Trait(column, column, statistic,
        value, population));
  }

  private static int count(String s, String part) {
    int n = 0;
    for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }
}
