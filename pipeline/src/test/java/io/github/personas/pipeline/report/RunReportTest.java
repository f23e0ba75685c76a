package io.github.personas.pipeline.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.segment.Traits;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
            new ReportData.QualityRow("events", "quarantined: event_after_run_date", 10)),
        predicted(), new ReportData.Significance(0.05, 0.05, 412));
  }

  /**
   * Mean scores of both personas and two RFM segments (one of never-buyers, with propensities but
   * no P(alive) or CLV), and the checks of two propensity scores.
   */
  static ReportData.Predicted predicted() {
    List<ReportData.SegmentScores> scores = List.of(
        new ReportData.SegmentScores("persona_id", "P01", 700, 0.3512, 12.404, 0.0612, 0.9388),
        new ReportData.SegmentScores("persona_id", "P02", 300, 0.8149, 210.5549, 0.3811, 0.6189),
        new ReportData.SegmentScores("rfm_segment", "Prospects", 700, null, null, 0.0208, 0.9792),
        new ReportData.SegmentScores("rfm_segment", "Champions", 300, 0.8149, 210.5549, 0.3811, 0.6189));
    List<ReportData.ModelMetric> metrics = new ArrayList<>();
    double[] buyScore = {0.62, 0.41, 0.30, 0.22, 0.16, 0.11, 0.08, 0.05, 0.03, 0.01};
    double[] bought = {0.58, 0.44, 0.27, 0.20, 0.15, 0.12, 0.06, 0.05, 0.02, 0.01};
    metrics(metrics, "purchase_propensity_30d", 0.81, 0.52, 0.19, 700, 300, buyScore, bought);
    double[] churnScore = {0.99, 0.97, 0.95, 0.92, 0.88, 0.84, 0.78, 0.70, 0.59, 0.38};
    double[] churned = {0.99, 0.98, 0.95, 0.94, 0.88, 0.85, 0.80, 0.73, 0.56, 0.42};
    metrics(metrics, "churn_risk_30d", 0.79, 0.93, 0.81, 700, 300, churnScore, churned);
    return new ReportData.Predicted(365, 30, scores, metrics);
  }

  /** One score's rows of model_metrics, as the PREDICT stage writes them: scalars, then per decile. */
  private static void metrics(List<ReportData.ModelMetric> out, String score, double aucRoc, double aucPr,
                              double baseRate, int train, int test, double[] meanScore, double[] observed) {
    out.add(new ReportData.ModelMetric(score, 30, "auc_roc", null, aucRoc));
    out.add(new ReportData.ModelMetric(score, 30, "auc_pr", null, aucPr));
    out.add(new ReportData.ModelMetric(score, 30, "base_rate", null, baseRate));
    out.add(new ReportData.ModelMetric(score, 30, "top_decile_lift", null, observed[0] / baseRate));
    out.add(new ReportData.ModelMetric(score, 30, "train_users", null, train));
    out.add(new ReportData.ModelMetric(score, 30, "test_users", null, test));
    for (int d = 1; d <= meanScore.length; d++) {
      out.add(new ReportData.ModelMetric(score, 30, "users", d, test / meanScore.length));
      out.add(new ReportData.ModelMetric(score, 30, "mean_score", d, meanScore[d - 1]));
      out.add(new ReportData.ModelMetric(score, 30, "observed_rate", d, observed[d - 1]));
    }
  }

  /** The fixed run with other predictions. */
  static ReportData with(ReportData.Predicted predicted) {
    ReportData f = fixed();
    return new ReportData(f.runDate(), f.version(), f.headline(), f.segments(), f.personas(), f.kSelection(),
        f.kReason(), f.transitions(), f.history(), f.quality(), predicted, f.significance());
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
    // Five charts: sizes, KPIs, transitions heatmap, history, k curve; then calibration and lift
    // of each of the two scores.
    assertEquals(5 + 2 * 2, count(html, "<svg "), "inline SVG charts");
    assertTrue(html.contains("Frequent big spenders") && html.contains("Users moving between personas"));
    // Nothing fetched from elsewhere: no src or href, no CSS url() and no @import, except references
    // to fragments of the page itself (SVG clip paths are url(#id)).
    Matcher external = Pattern.compile("(?i)((src|href)\\s*=\\s*['\"]?(?!#)|url\\(\\s*['\"]?(?!#)|@import)")
        .matcher(html);
    assertFalse(external.find(), () -> "external reference: " + html.substring(Math.max(0, external.start() - 80),
        Math.min(html.length(), external.end() + 80)));
  }

  @Test
  void personaKpiRowsAreLabelledWithThePersonasNamesInBothReports() {
    // segment_kpis rows of persona_id P01 and P02; the cards name them Quiet browsers and Frequent big spenders.
    String md = new RunReport(fixed()).markdown();
    assertTrue(md.contains("| Quiet browsers | 700 | 70.0% | 10.0% * |"), md);
    assertTrue(md.contains("| Frequent big spenders | 300 | 30.0% | 76.7% * |"), md);
    String html = new RunReport(fixed()).html();
    assertTrue(html.contains("<tr><td>Quiet browsers</td><td>700</td>"), html);
    assertTrue(html.contains("<tr><td>Frequent big spenders</td><td>300</td>"), html);
    String mdKpis = md.substring(md.indexOf("## Segment KPIs"), md.indexOf("## Persona transitions"));
    String htmlKpis = html.substring(html.indexOf("<h2>KPI comparison</h2>"), html.indexOf("<h2>Persona transitions"));
    for (String kpis : List.of(mdKpis, htmlKpis)) {
      assertFalse(Pattern.compile("(\\| |<td>)P0[12]( \\||</td>)").matcher(kpis).find(), "a persona id as a KPI row");
    }
  }

  @Test
  void theSignificanceNoteGivesTheLevelTheNumberOfTestsAndTheMinimumEffect() {
    String expected = "differs significantly from all other users' (its p-value adjusted for the 412 tests of"
        + " segment_kpis, the Benjamini–Hochberg q-value, is below 0.05) and by at least 5.0% from the"
        + " population's (lift at most 0.95× or at least 1.05×)";
    assertTrue(new RunReport(fixed()).markdown().contains("`*` marks a value that " + expected + "."));
    // HTML escapes the apostrophe.
    assertTrue(new RunReport(fixed()).html().replace("&#39;", "'").contains("A bold value " + expected + "."));
    ReportData f = fixed();
    ReportData anyEffect = new ReportData(f.runDate(), f.version(), f.headline(), f.segments(), f.personas(),
        f.kSelection(), f.kReason(), f.transitions(), f.history(), f.quality(), f.predicted(),
        new ReportData.Significance(0.1, 0, 7));
    assertTrue(new RunReport(anyEffect).markdown().contains("`*` marks a value that differs significantly from all"
        + " other users' (its p-value adjusted for the 7 tests of segment_kpis, the Benjamini–Hochberg q-value, is"
        + " below 0.1).\n"));
  }

  @Test
  void aFirstRunSaysThereIsNothingToCompareWith() {
    ReportData f = fixed();
    ReportData first = new ReportData(f.runDate(), f.version(), f.headline(), f.segments(), f.personas(), f.kSelection(),
        f.kReason(), List.of(), f.history(), f.quality(), ReportData.Predicted.NONE, f.significance());
    assertTrue(new RunReport(first).markdown().contains("First run in this output"));
    assertEquals(4, count(new RunReport(first).html(), "<svg "));
  }

  @Test
  void everyPersonaAndRfmSegmentCardHasItsMeanScoresInOneLineWithAFootnote() {
    String md = new RunReport(fixed()).markdown();
    assertTrue(md.contains("- Predicted: P(alive) 0.81 · 365-day CLV 210.55 · 30-day purchase propensity 38.1%"
        + " · churn risk 61.9%\n"), md);
    assertTrue(md.contains("- **Prospects** (700 users, 70.0%): 30-day purchase propensity 2.1% · churn risk 97.9%\n"),
        md);
    assertTrue(md.contains("means over the users who have the score"), md);
    String html = new RunReport(fixed()).html();
    assertEquals(2 + 2, count(html, "<div class=\"predicted\">"), "two persona cards and two RFM segment cards");
    assertTrue(html.contains("<div class=\"predicted\">P(alive) 0.35 · 365-day CLV 12.40 · 30-day purchase"
        + " propensity 6.1% · churn risk 93.9%</div>"), html);
  }

  @Test
  void aRunWithoutPredictionsShowsNoScoresAndNoModelCharts() {
    RunReport report = new RunReport(with(ReportData.Predicted.NONE));
    String md = report.markdown();
    for (String absent : List.of("Predicted:", "P(alive)", "RFM segments: predicted value", "How well the scores")) {
      assertFalse(md.contains(absent), absent + " in\n" + md);
    }
    String html = report.html();
    assertEquals(5, count(html, "<svg "));
    assertFalse(html.contains("class=\"predicted\"") || html.contains("footnote\">"), html);
  }

  @Test
  void scoresWithoutModelMetricsGiveCardsButNoCharts() {
    ReportData.Predicted p = predicted();
    RunReport report = new RunReport(with(new ReportData.Predicted(p.clvDays(), p.propensityDays(), p.scores(),
        List.of())));
    assertTrue(report.markdown().contains("- Predicted: P(alive) 0.35"));
    assertFalse(report.markdown().contains("How well the scores"));
    assertEquals(5, count(report.html(), "<svg "));
  }

  @Test
  void aWithheldPAliveIsExplainedInsteadOfShownAsOneOnEveryCard() {
    ReportData.Predicted p = predicted();
    RunReport report = new RunReport(with(new ReportData.Predicted(p.clvDays(), p.propensityDays(),
        p.scores().stream().map(ReportData.SegmentScores::withoutPAlive).toList(), p.metrics(), true)));
    String md = report.markdown();
    assertFalse(md.contains("P(alive) 0.") || md.contains("P(alive) 1."), md);
    assertTrue(md.contains("- Predicted: 365-day CLV 12.40 · 30-day purchase propensity 6.1%"), md);
    assertTrue(md.contains("P(alive) is not shown: it is 0.99 or more in every segment"), md);
    assertFalse(md.contains("P(alive) is 1 for a customer who bought on one day only"), md);
  }

  @Test
  void aCardSaysWhenItsUsersHaveNoScoreAndNamesTheHorizonOfAChurnRiskAlone() {
    RunReport report = new RunReport(with(new ReportData.Predicted(365, 30, List.of(
        new ReportData.SegmentScores("persona_id", "P01", 700, null, null, null, null),
        new ReportData.SegmentScores("persona_id", "P02", 300, 0.5, null, null, 0.25)), List.of())));
    String md = report.markdown();
    assertTrue(md.contains("- Predicted: No predicted scores for these users\n"), md);
    assertTrue(md.contains("- Predicted: P(alive) 0.50 · 30-day churn risk 25.0%\n"), md);
  }

  @Test
  void eachScoreHasItsFiguresAndDecileTable() {
    String md = new RunReport(fixed()).markdown();
    assertTrue(md.contains("### 30-day purchase propensity\n\nAUC-ROC 0.810 · AUC-PR 0.520 · base rate 19.0%"
        + " · top-decile lift 3.05× · trained on 700 users · checked on 300 held-out users"), md);
    // Decile 1 of churn risk: observed 99% of users churning against a base rate of 81%.
    assertTrue(md.contains("| 1 | 30 | 99.0% | 99.0% | 1.22× |"), md);
    assertTrue(md.contains("### 30-day churn risk"), md);
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
