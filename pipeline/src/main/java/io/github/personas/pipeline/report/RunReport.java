package io.github.personas.pipeline.report;

import com.samskivert.mustache.Mustache;
import com.samskivert.mustache.Template;
import io.github.personas.pipeline.segment.PersonaClusterer;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.geom.Rectangle2D;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

/**
 * Renders a run's {@link ReportData} as {@code report.md} (terminals, pull requests) and a
 * self-contained {@code report.html} (charts inline as SVG, no external URL, opens offline).
 *
 * <p>Templates are Mustache files beside this class; charts are drawn by JFreeChart into
 * JFreeSVG. Numbers are formatted with {@link Locale#ROOT}, so the output does not depend on the
 * machine's locale and a golden file can pin it.
 */
public final class RunReport {

  private static final int WIDTH = 900;
  /** Two charts side by side: a score's calibration and its lift. */
  private static final int HALF_WIDTH = 440;
  private static final Color SCORE_BLUE = new Color(0x1F, 0x5F, 0xAF);
  private static final String PERSONA_ID = "persona_id";
  private static final String RFM_SEGMENT = "rfm_segment";

  private final ReportData data;
  private int charts;

  public RunReport(ReportData data) {
    this.data = data;
  }

  /** The Markdown report. */
  public String markdown() {
    return template("report.md.mustache", false).execute(view(false));
  }

  /** The HTML report, one self-contained file. */
  public String html() {
    return template("report.html.mustache", true).execute(view(true));
  }

  private static Template template(String name, boolean escapeHtml) {
    try (InputStream in = RunReport.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("Template " + name + " is missing from the jar");
      }
      Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8);
      return Mustache.compiler().escapeHTML(escapeHtml).defaultValue("").compile(reader);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("Cannot read template " + name, e);
    }
  }

  private Map<String, Object> view(boolean charts) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("runDate", data.runDate());
    v.put("version", data.version());
    Map<String, Object> h = data.headline();
    Map<String, Object> headline = new LinkedHashMap<>();
    headline.put("users", count(h.get("users")));
    headline.put("buyers", count(h.get("buyers")));
    headline.put("conversion", percent(h.get("conversion_rate")));
    headline.put("revenue", money(h.get("revenue")));
    headline.put("arpu", money(h.get("arpu")));
    headline.put("active", percent(h.get("active_rate_30d")));
    headline.put("holdout", count(h.get("holdout_users")));
    v.put("headline", headline);

    List<Map<String, Object>> personas = new ArrayList<>();
    for (ReportData.PersonaCard p : data.personas()) {
      Map<String, Object> card = new LinkedHashMap<>();
      card.put("id", p.id());
      card.put("name", p.name());
      card.put("kind", PersonaClusterer.RULE_KIND.equals(p.kind()) ? "defined by a rule" : "found by clustering");
      card.put("users", count(p.users()));
      card.put("share", percent(p.share()));
      card.put("rule", p.rule());
      card.put("precision", String.format(Locale.ROOT, "%.2f", p.precision()));
      card.put("recall", String.format(Locale.ROOT, "%.2f", p.recall()));
      card.put("traits", p.traits());
      card.put("play", p.play());
      putScores(card, data.predicted().of(PERSONA_ID, p.id()));
      personas.add(card);
    }
    v.put("personas", personas);
    v.put("predicted", predicted(charts));

    Map<String, List<Map<String, Object>>> byDimension = new LinkedHashMap<>();
    for (ReportData.SegmentRow r : data.segments()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("segment", label(r));
      row.put("users", count(r.users()));
      row.put("share", percent(r.share()));
      row.put("conversion", percent(r.conversionRate()));
      row.put("conversionSignificant", r.conversionSignificant());
      row.put("conversionLift", lift(r.conversionLift()));
      row.put("arpu", money(r.arpu()));
      row.put("arpuSignificant", r.arpuSignificant());
      row.put("arpuLift", lift(r.arpuLift()));
      row.put("active", percent(r.activeRate30d()));
      byDimension.computeIfAbsent(r.dimension(), d -> new ArrayList<>()).add(row);
    }
    List<Map<String, Object>> dimensions = new ArrayList<>();
    byDimension.forEach((d, rows) -> dimensions.add(Map.of("name", PERSONA_ID.equals(d) ? "persona" : d,
        "rows", rows)));
    v.put("dimensions", dimensions);
    v.put("significance", significance());

    v.put("transitions", transitionMatrix());

    List<Map<String, Object>> k = new ArrayList<>();
    for (ReportData.KPoint p : data.kSelection()) {
      k.add(Map.of("k", p.k(), "cost", String.format(Locale.ROOT, "%,.1f", p.cost()),
          "silhouette", Double.isNaN(p.silhouette()) ? "n/a" : String.format(Locale.ROOT, "%.3f", p.silhouette()),
          "chosen", p.chosen()));
    }
    v.put("k", k);
    v.put("kReason", data.kReason());

    List<Map<String, Object>> quality = new ArrayList<>();
    for (ReportData.QualityRow q : data.quality()) {
      quality.add(Map.of("source", q.source(), "what", q.what(), "rows", count(q.rows())));
    }
    v.put("quality", quality);
    if (charts) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("sizes", svg(personaSizes(), 60 + 28 * Math.max(1, data.personas().size())));
      c.put("kpis", svg(kpiChart(), 360));
      c.put("transitions", data.transitions().isEmpty() ? "" : svg(heatmap(), 640));
      c.put("history", svg(historyChart(), 360));
      c.put("k", svg(kChart(), 320));
      v.put("charts", c);
    }
    return v;
  }

  /**
   * A KPI row's name: a persona by its name (its id alone means nothing to a reader, and the
   * cards above are headed by both), any other segment as it is.
   */
  private String label(ReportData.SegmentRow r) {
    if (PERSONA_ID.equals(r.dimension())) {
      for (ReportData.PersonaCard p : data.personas()) {
        if (p.id().equals(r.segment())) {
          return p.name();
        }
      }
    }
    return r.segment();
  }

  /** What a significance mark means, with the run's level, minimum effect and number of tests. */
  private String significance() {
    ReportData.Significance s = data.significance();
    String effect = s.minEffect() == 0 ? ""
        : String.format(Locale.ROOT, " and by at least %s from the population's (lift at most %s or at least %s)",
            percent(s.minEffect()), lift(1 - s.minEffect()), lift(1 + s.minEffect()));
    return String.format(Locale.ROOT, "differs significantly from all other users' (its p-value adjusted for the %,d"
        + " tests of segment_kpis, the Benjamini–Hochberg q-value, is below %s)%s", s.tests(),
        new java.math.BigDecimal(Double.toString(s.level())).stripTrailingZeros().toPlainString(), effect);
  }

  /** The card's one line of mean scores, when the run has predictions. */
  private void putScores(Map<String, Object> card, ReportData.SegmentScores scores) {
    boolean shown = !data.predicted().scores().isEmpty();
    card.put("hasScores", shown);
    card.put("scores", shown ? scoreLine(scores) : "");
  }

  /**
   * Mean scores in one line a marketer reads, e.g. "P(alive) 0.62 · 365-day CLV 48.10 · 30-day
   * purchase propensity 12.0% · churn risk 71.0%".
   */
  private String scoreLine(ReportData.SegmentScores s) {
    if (s == null || !s.any()) {
      return "No predicted scores for these users";
    }
    ReportData.Predicted p = data.predicted();
    List<String> parts = new ArrayList<>();
    if (s.pAlive() != null) {
      parts.add(String.format(Locale.ROOT, "P(alive) %.2f", s.pAlive()));
    }
    if (s.clv() != null) {
      parts.add(p.clvDays() + "-day CLV " + money(s.clv()));
    }
    if (s.purchasePropensity() != null) {
      parts.add(p.propensityDays() + "-day purchase propensity " + percent(s.purchasePropensity()));
    }
    if (s.churnRisk() != null) {
      // One horizon for both: said once when the propensity precedes it.
      parts.add((s.purchasePropensity() != null ? "" : p.propensityDays() + "-day ") + "churn risk "
          + percent(s.churnRisk()));
    }
    return String.join(" · ", parts);
  }

  /** The RFM segments' mean scores, the footnote, and the propensity models' checks. */
  private Map<String, Object> predicted(boolean charts) {
    ReportData.Predicted p = data.predicted();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("present", !p.scores().isEmpty());
    List<Map<String, Object>> rfm = new ArrayList<>();
    Object all = data.headline().get("users");
    for (ReportData.SegmentScores s : p.scores()) {
      if (s.dimension().equals(RFM_SEGMENT)) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("segment", s.segment());
        row.put("users", count(s.users()));
        row.put("share", all == null || ((Number) all).longValue() == 0 ? "n/a"
            : percent((double) s.users() / ((Number) all).longValue()));
        row.put("scores", scoreLine(s));
        rfm.add(row);
      }
    }
    m.put("rfm", rfm);
    m.put("hasRfm", !rfm.isEmpty());
    List<String> notes = new ArrayList<>();
    notes.add("Predicted scores are means over the users who have the score: users who never bought have no"
        + " P(alive) or CLV.");
    if (p.pAliveWithheld()) {
      notes.add("P(alive) is not shown: it is 0.99 or more in every segment, so it tells no group from another."
          + " The purchase model reads 1 for customers who bought on one day only, and for nearly everyone when"
          + " it sees almost no customer stop buying (the run then warns that the data does not pin the drop-out"
          + " down): neither means they are all still customers.");
    } else if (p.clvDays() != null) {
      notes.add("P(alive) is 1 for a customer who bought on one day only (the purchase model lets customers drop"
          + " out only after a repeat purchase), so a group of one-time buyers reads 1.00 however long they have"
          + " been silent: rank and target by " + (p.propensityDays() != null ? "the propensities or " : "")
          + "CLV.");
    }
    if (p.clvDays() != null) {
      notes.add(String.format("CLV is the spend expected in the next %d days, discounted.", p.clvDays()));
    }
    if (p.propensityDays() != null) {
      notes.add(String.format("Purchase propensity and churn risk are chances over the next %d days.",
          p.propensityDays()));
    }
    m.put("footnote", String.join(" ", notes));

    Map<String, List<ReportData.ModelMetric>> byScore = new LinkedHashMap<>();
    for (ReportData.ModelMetric x : p.metrics()) {
      byScore.computeIfAbsent(x.score(), k -> new ArrayList<>()).add(x);
    }
    List<Map<String, Object>> models = new ArrayList<>();
    byScore.forEach((score, metrics) -> models.add(model(score, metrics, charts)));
    m.put("models", models);
    m.put("hasModels", !models.isEmpty());
    return m;
  }

  /** One score's checks on held-out users: figures, deciles, how to read them, and (HTML) its two charts. */
  private Map<String, Object> model(String score, List<ReportData.ModelMetric> metrics, boolean charts) {
    int horizon = metrics.get(0).horizonDays();
    Map<String, Double> scalar = new LinkedHashMap<>();
    java.util.TreeMap<Integer, Map<String, Double>> deciles = new java.util.TreeMap<>();
    for (ReportData.ModelMetric x : metrics) {
      if (x.decile() == null) {
        scalar.put(x.metric(), x.value());
      } else {
        deciles.computeIfAbsent(x.decile(), d -> new LinkedHashMap<>()).put(x.metric(), x.value());
      }
    }
    Double base = scalar.get("base_rate");
    String title = scoreTitle(score, horizon);
    String did = outcome(score, horizon);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("title", title);
    List<String> figures = new ArrayList<>();
    figure(figures, scalar.get("auc_roc"), v -> String.format(Locale.ROOT, "AUC-ROC %.3f", v));
    figure(figures, scalar.get("auc_pr"), v -> String.format(Locale.ROOT, "AUC-PR %.3f", v));
    figure(figures, base, v -> "base rate " + percent(v));
    figure(figures, scalar.get("top_decile_lift"), v -> "top-decile lift " + lift(v));
    figure(figures, scalar.get("train_users"), v -> "trained on " + count(Math.round(v)) + " users");
    figure(figures, scalar.get("test_users"), v -> "checked on " + count(Math.round(v)) + " held-out users");
    m.put("figures", String.join(" · ", figures));
    m.put("figuresHelp", String.format("AUC-ROC is the chance that a user who %s is scored above one who did not"
        + " (0.5 is a coin toss, 1 perfect); AUC-PR summarises how many of the users picked by the score %s, where"
        + " a coin toss gets the base rate; top-decile lift is the share of the highest-scored tenth who %s,"
        + " divided by the base rate.", did, did, did));
    List<Map<String, Object>> rows = new ArrayList<>();
    for (Map.Entry<Integer, Map<String, Double>> e : deciles.entrySet()) {
      Map<String, Double> d = e.getValue();
      Double observed = d.get("observed_rate");
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("decile", e.getKey());
      row.put("users", d.get("users") == null ? "n/a" : count(Math.round(d.get("users"))));
      row.put("meanScore", percent(d.get("mean_score")));
      row.put("observed", percent(observed));
      row.put("lift", lift(liftOf(observed, base)));
      rows.add(row);
    }
    m.put("deciles", rows);
    m.put("readCalibration", String.format("Calibration: each dot is a tenth of the held-out users, ranked by"
        + " score: across, the %s the model gave them on average; up, the share who %s. On the dashed diagonal a"
        + " score of 20%% came true for 20%% of them; below it the model promised too much, above it too little.",
        title.toLowerCase(Locale.ROOT), did));
    m.put("readLift", String.format("Lift: one bar per tenth of the held-out users, highest scores first: how many"
        + " times the base rate%s that tenth %s. A useful score has tall bars on the left falling below 1 on the"
        + " right; bars all near 1 mean it does not tell users apart.", base == null ? "" : " (" + percent(base) + ")",
        did));
    if (charts) {
      m.put("calibrationChart", svg(calibrationChart(title, deciles), HALF_WIDTH, 360));
      m.put("liftChart", svg(liftChart(title, deciles, base), HALF_WIDTH, 360));
    }
    return m;
  }

  private static void figure(List<String> figures, Double v, java.util.function.DoubleFunction<String> format) {
    if (v != null && Double.isFinite(v)) {
      figures.add(format.apply(v));
    }
  }

  private static Double liftOf(Double observed, Double base) {
    return observed == null || base == null || base == 0 ? null : observed / base;
  }

  /** "purchase_propensity_30d" → "30-day purchase propensity". */
  static String scoreTitle(String score, int horizonDays) {
    String name = score.replaceFirst("_" + horizonDays + "d$", "").replace('_', ' ');
    return horizonDays + "-day " + name;
  }

  /** What users whose score came true did, in words. */
  private static String outcome(String score, int horizonDays) {
    if (score.startsWith("purchase_propensity")) {
      return "bought in the " + horizonDays + " days";
    }
    if (score.startsWith("churn_risk")) {
      return "churned in the " + horizonDays + " days";
    }
    return "had the outcome";
  }

  private JFreeChart calibrationChart(String title, java.util.SortedMap<Integer, Map<String, Double>> deciles) {
    XYSeries points = new XYSeries("deciles", false);
    double max = 0;
    for (Map<String, Double> d : deciles.values()) {
      Double x = d.get("mean_score");
      Double y = d.get("observed_rate");
      if (x != null && y != null) {
        points.add(x, y);
        max = Math.max(max, Math.max(x, y));
      }
    }
    max = max == 0 ? 1 : Math.min(1, max * 1.05);
    XYSeries diagonal = new XYSeries("perfectly calibrated");
    diagonal.add(0, 0);
    diagonal.add(max, max);
    XYSeriesCollection ds = new XYSeriesCollection();
    ds.addSeries(points);
    ds.addSeries(diagonal);
    JFreeChart chart = ChartFactory.createXYLineChart(title + ": calibration", "mean score", "observed rate", ds,
        PlotOrientation.VERTICAL, true, false, false);
    XYPlot plot = chart.getXYPlot();
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
    r.setSeriesPaint(0, SCORE_BLUE);
    r.setSeriesShapesVisible(1, false);
    r.setSeriesPaint(1, Color.GRAY);
    r.setSeriesStroke(1, new java.awt.BasicStroke(1f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER,
        10f, new float[] {5f, 4f}, 0f));
    plot.setRenderer(r);
    for (NumberAxis axis : List.of((NumberAxis) plot.getDomainAxis(), (NumberAxis) plot.getRangeAxis())) {
      axis.setRange(0, max);
      axis.setNumberFormatOverride(java.text.NumberFormat.getPercentInstance(Locale.ROOT));
    }
    // Room for the last tick label ("100%") at the right edge.
    chart.setPadding(new org.jfree.chart.ui.RectangleInsets(2, 2, 2, 14));
    return style(chart);
  }

  private JFreeChart liftChart(String title, java.util.SortedMap<Integer, Map<String, Double>> deciles, Double base) {
    DefaultCategoryDataset ds = new DefaultCategoryDataset();
    deciles.forEach((decile, d) -> {
      Double lift = liftOf(d.get("observed_rate"), base);
      if (lift != null) {
        ds.addValue(lift, "lift", String.valueOf(decile));
      }
    });
    JFreeChart chart = ChartFactory.createBarChart(title + ": lift by decile", "decile (1 = highest scores)",
        "× base rate", ds, PlotOrientation.VERTICAL, false, false, false);
    ValueMarker one = new ValueMarker(1, Color.GRAY, new java.awt.BasicStroke(1.5f));
    one.setLabel("base rate");
    one.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    one.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_RIGHT);
    one.setLabelTextAnchor(org.jfree.chart.ui.TextAnchor.BOTTOM_RIGHT);
    chart.getCategoryPlot().addRangeMarker(one);
    org.jfree.chart.renderer.category.BarRenderer bars =
        (org.jfree.chart.renderer.category.BarRenderer) chart.getCategoryPlot().getRenderer();
    bars.setSeriesPaint(0, SCORE_BLUE);
    return style(chart);
  }

  private Map<String, Object> transitionMatrix() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("present", !data.transitions().isEmpty());
    Set<String> from = new LinkedHashSet<>();
    Set<String> to = new LinkedHashSet<>();
    Map<String, Long> cells = new LinkedHashMap<>();
    for (ReportData.Transition t : data.transitions()) {
      from.add(t.from());
      to.add(t.to());
      cells.put(t.from() + "\u0000" + t.to(), t.users());
    }
    List<String> columns = to.stream().sorted().toList();
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String f : from.stream().sorted().toList()) {
      List<String> values = new ArrayList<>();
      for (String c : columns) {
        values.add(count(cells.getOrDefault(f + "\u0000" + c, 0L)));
      }
      rows.add(Map.of("label", f, "cells", values));
    }
    m.put("columns", columns);
    m.put("rows", rows);
    return m;
  }

  private JFreeChart personaSizes() {
    DefaultCategoryDataset ds = new DefaultCategoryDataset();
    for (ReportData.PersonaCard p : data.personas()) {
      ds.addValue(p.users(), "users", p.id() + " " + p.name());
    }
    JFreeChart chart = ChartFactory.createBarChart("Users per persona", null, "users", ds, PlotOrientation.HORIZONTAL,
        false, false, false);
    return style(chart);
  }

  private JFreeChart kpiChart() {
    DefaultCategoryDataset ds = new DefaultCategoryDataset();
    for (ReportData.SegmentRow r : data.segments()) {
      if (r.dimension().equals(PERSONA_ID) && r.conversionLift() != null && r.arpuLift() != null) {
        ds.addValue(r.conversionLift(), "conversion lift", label(r));
        ds.addValue(r.arpuLift(), "ARPU lift", label(r));
      }
    }
    JFreeChart chart = ChartFactory.createBarChart("Persona KPIs relative to the population (1 = average)", null,
        "× population", ds, PlotOrientation.VERTICAL, true, false, false);
    // Names are longer than ids: on two lines they fit under eight bars instead of ending in "...".
    chart.getCategoryPlot().getDomainAxis().setMaximumCategoryLabelLines(2);
    return style(chart);
  }

  private JFreeChart historyChart() {
    DefaultCategoryDataset ds = new DefaultCategoryDataset();
    for (ReportData.HistoryPoint p : data.history()) {
      ds.addValue(p.users(), p.segment(), p.runDate());
    }
    JFreeChart chart = ChartFactory.createLineChart("Users per persona by run date", null, "users", ds,
        PlotOrientation.VERTICAL, true, false, false);
    return style(chart);
  }

  private JFreeChart kChart() {
    XYSeries silhouette = new XYSeries("silhouette");
    int chosen = -1;
    for (ReportData.KPoint p : data.kSelection()) {
      if (!Double.isNaN(p.silhouette())) {
        silhouette.add(p.k(), p.silhouette());
      }
      if (p.chosen()) {
        chosen = p.k();
      }
    }
    JFreeChart chart = ChartFactory.createXYLineChart("Silhouette by k (sample)", "k", "silhouette",
        new XYSeriesCollection(silhouette), PlotOrientation.VERTICAL, false, false, false);
    XYPlot plot = chart.getXYPlot();
    ((NumberAxis) plot.getDomainAxis()).setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
    if (chosen > 0) {
      ValueMarker marker = new ValueMarker(chosen, new Color(0xB3, 0x59, 0x00), new java.awt.BasicStroke(2f));
      marker.setLabel("chosen k = " + chosen);
      marker.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      plot.addDomainMarker(marker);
    }
    return style(chart);
  }

  private JFreeChart heatmap() {
    List<String> from = data.transitions().stream().map(ReportData.Transition::from).distinct().sorted().toList();
    List<String> to = data.transitions().stream().map(ReportData.Transition::to).distinct().sorted().toList();
    int n = data.transitions().size();
    double[][] xyz = new double[3][n];
    double max = 1;
    for (int i = 0; i < n; i++) {
      ReportData.Transition t = data.transitions().get(i);
      xyz[0][i] = to.indexOf(t.to());
      xyz[1][i] = from.indexOf(t.from());
      xyz[2][i] = t.users();
      max = Math.max(max, t.users());
    }
    DefaultXYZDataset ds = new DefaultXYZDataset();
    ds.addSeries("users", xyz);
    SymbolAxis x = new SymbolAxis("this run", to.toArray(String[]::new));
    // Personas are labelled by id and name: side by side, the longer ones would be left out.
    x.setVerticalTickLabels(true);
    SymbolAxis y = new SymbolAxis("previous run", from.toArray(String[]::new));
    XYBlockRenderer renderer = new XYBlockRenderer();
    PaintScale scale = new BlueScale(max);
    renderer.setPaintScale(scale);
    XYPlot plot = new XYPlot(ds, x, y, renderer);
    JFreeChart chart = new JFreeChart("Users moving between personas", JFreeChart.DEFAULT_TITLE_FONT, plot, false);
    NumberAxis legendAxis = new NumberAxis("users");
    PaintScaleLegend legend = new PaintScaleLegend(scale, legendAxis);
    legend.setPosition(RectangleEdge.RIGHT);
    chart.addSubtitle(legend);
    return style(chart);
  }

  /** White to dark blue by count. */
  private record BlueScale(double max) implements PaintScale {
    @Override
    public double getLowerBound() {
      return 0;
    }

    @Override
    public double getUpperBound() {
      return max;
    }

    @Override
    public Paint getPaint(double value) {
      double f = Math.max(0, Math.min(1, Math.sqrt(value / max)));
      return new Color((int) (240 - 200 * f), (int) (245 - 150 * f), (int) (255 - 80 * f));
    }
  }

  private static JFreeChart style(JFreeChart chart) {
    chart.setBackgroundPaint(Color.WHITE);
    chart.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
    chart.getPlot().setBackgroundPaint(new Color(0xFA, 0xFA, 0xFA));
    return chart;
  }

  private String svg(JFreeChart chart, int height) {
    return svg(chart, WIDTH, height);
  }

  private String svg(JFreeChart chart, int width, int height) {
    SVGGraphics2D g = new SVGGraphics2D(width, height);
    // Fixed ids instead of time-based ones: the same data gives the same file.
    g.setDefsKeyPrefix("c" + (++charts) + "-");
    chart.draw(g, new Rectangle2D.Double(0, 0, width, height));
    return g.getSVGElement();
  }

  private static String count(Object v) {
    return v == null ? "n/a" : String.format(Locale.ROOT, "%,d", ((Number) v).longValue());
  }

  private static String percent(Object v) {
    return v == null ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100 * ((Number) v).doubleValue());
  }

  private static String money(Object v) {
    return v == null ? "n/a" : String.format(Locale.ROOT, "%,.2f", ((Number) v).doubleValue());
  }

  private static String lift(Object v) {
    return v == null ? "n/a" : String.format(Locale.ROOT, "%.2f×", ((Number) v).doubleValue());
  }
}
