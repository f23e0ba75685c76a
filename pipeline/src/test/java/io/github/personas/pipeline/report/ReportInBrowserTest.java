package io.github.personas.pipeline.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opens report.html in headless Chromium (Debian's {@code chromium}, installed by .ci/run) the way
 * a person would, and checks that the page makes no network request and logs nothing to the
 * console. The browser runs behind a dead loopback proxy, so nothing leaves the machine either way.
 * The screenshot is kept at target/report-screenshot.png.
 */
class ReportInBrowserTest {

  /** Hosts of Chromium's own background services (updates, clock, sign-in), not of the page. */
  private static final Pattern BROWSER_SERVICES =
      Pattern.compile("^https?://([a-z0-9.-]+\\.)?(google\\.com|googleapis\\.com|gvt1\\.com|gstatic\\.com)/");
  private static final Pattern NET_URL = Pattern.compile("\"url\":\"(https?://[^\"]+)\"");

  @TempDir
  Path dir;

  /** What the browser saw. */
  record Visit(int exit, List<String> console, List<String> requests, Path screenshot) {}

  private static String chromium() {
    for (String name : List.of("chromium", "chromium-browser")) {
      for (String p : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
        if (new File(p, name).canExecute()) {
          return new File(p, name).getPath();
        }
      }
    }
    return null;
  }

  private Visit open(String html, Path screenshot) throws Exception {
    String browser = chromium();
    assumeTrue(browser != null, "chromium is not installed (apt-get install chromium); .ci/run installs it");
    Path page = dir.resolve("page.html");
    Files.writeString(page, html, StandardCharsets.UTF_8);
    Path netlog = dir.resolve("netlog.json");
    Path stderr = dir.resolve("stderr.txt");
    List<String> cmd = List.of(browser, "--headless", "--no-sandbox", "--disable-gpu",
        "--proxy-server=127.0.0.1:9", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-extensions", "--enable-logging=stderr", "--v=0",
        "--log-net-log=" + netlog, "--window-size=1200,4000", "--screenshot=" + screenshot.toAbsolutePath(),
        page.toUri().toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(false).redirectOutput(dir.resolve("stdout.txt").toFile())
        .redirectError(stderr.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish in 120 s");
    }
    List<String> console = Files.readAllLines(stderr, StandardCharsets.UTF_8).stream()
        .filter(l -> l.contains(":CONSOLE")).toList();
    List<String> requests = new ArrayList<>();
    if (Files.exists(netlog)) {
      Matcher m = NET_URL.matcher(Files.readString(netlog, StandardCharsets.UTF_8));
      while (m.find()) {
        if (!BROWSER_SERVICES.matcher(m.group(1)).find() && !requests.contains(m.group(1))) {
          requests.add(m.group(1));
        }
      }
    }
    return new Visit(p.exitValue(), console, requests, screenshot);
  }

  @Test
  void reportOpensWithoutNetworkRequestsOrConsoleMessages() throws Exception {
    Path shot = Path.of("target", "report-screenshot.png");
    Files.createDirectories(shot.getParent());
    Files.deleteIfExists(shot);
    Visit v = open(new RunReport(RunReportTest.fixed()).html(), shot);
    assertEquals(0, v.exit());
    assertEquals(List.of(), v.console(), "console messages");
    assertEquals(List.of(), v.requests(), "network requests");
    assertTrue(Files.size(shot) > 20_000, "a screenshot with content: " + Files.size(shot) + " bytes");
  }

  @Test
  void theCheckCatchesAPageThatFetchesOrLogs() throws Exception {
    Visit v = open("<html><body><script>console.error('boom')</script>"
        + "<img src='http://example.com/x.png'></body></html>", dir.resolve("bad.png"));
    assertTrue(v.console().stream().anyMatch(l -> l.contains("boom")), v.console().toString());
    assertTrue(v.requests().contains("http://example.com/x.png"), v.requests().toString());
  }
}
