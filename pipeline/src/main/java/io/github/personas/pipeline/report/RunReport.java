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
      personas.add(card);
    }
    v.put("personas", personas);

    Map<String, List<Map<String, Object>>> byDimension = new LinkedHashMap<>();
    for (ReportData.SegmentRow r : data.segments()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("segment", r.segment());
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
    byDimension.forEach((d, rows) -> dimensions.add(Map.of("name", d, "rows", rows)));
    v.put("dimensions", dimensions);

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
      c.put("transitions", data.transitions().isEmpty() ? "" : svg(heatmap(), 460));
      c.put("history", svg(historyChart(), 360));
      c.put("k", svg(kChart(), 320));
      v.put("charts", c);
    }
    return v;
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
      if (r.dimension().equals("persona_id") && r.conversionLift() != null && r.arpuLift() != null) {
        ds.addValue(r.conversionLift(), "conversion lift", r.segment());
        ds.addValue(r.arpuLift(), "ARPU lift", r.segment());
      }
    }
    JFreeChart chart = ChartFactory.createBarChart("Persona KPIs relative to the population (1 = average)", null,
        "× population", ds, PlotOrientation.VERTICAL, true, false, false);
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
    SVGGraphics2D g = new SVGGraphics2D(WIDTH, height);
    // Fixed ids instead of time-based ones: the same data gives the same file.
    g.setDefsKeyPrefix("c" + (++charts) + "-");
    chart.draw(g, new Rectangle2D.Double(0, 0, WIDTH, height));
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
