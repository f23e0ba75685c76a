package io.github.personas.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** docs/input-contract.md lists the contract's columns exactly as the code validates them. */
class ContractDocTest {

  private static final Pattern ROW = Pattern.compile("^\\| `([a-z0-9_]+)` \\| ([a-z<>]+) \\| (yes|no) \\|");

  /** The rows of the table under the heading {@code ## <table> —}: column, type, required. */
  private static List<String> documented(String table) throws Exception {
    List<String> rows = new ArrayList<>();
    boolean in = false;
    for (String line : Files.readAllLines(Path.of("../docs/input-contract.md"))) {
      if (line.startsWith("## ")) {
        in = line.startsWith("## " + table + " — ");
      }
      Matcher m = ROW.matcher(line);
      if (in && m.find()) {
        rows.add(m.group(1) + " " + m.group(2) + " " + m.group(3));
      }
    }
    return rows;
  }

  private static List<String> inCode(Contract.Table table) {
    return table.columns().stream()
        .map(c -> c.name() + " " + c.kind().sqlType() + " " + (c.required() ? "yes" : "no")).toList();
  }

  @Test
  void theEventsColumnsOfTheDocAreTheContractsInOrder() throws Exception {
    assertEquals(String.join("\n", inCode(Contract.EVENTS)), String.join("\n", documented("events")),
        "docs/input-contract.md must list every events column of Contract.EVENTS with its type and whether required");
  }

  @Test
  void theProfilesColumnsOfTheDocAreTheContractsInOrder() throws Exception {
    assertEquals(String.join("\n", inCode(Contract.PROFILES)), String.join("\n", documented("profiles")),
        "docs/input-contract.md must list every profiles column of Contract.PROFILES with its type and whether"
            + " required");
  }

  @Test
  void theDocsFirstEventsRowsAreTheRequiredOnes() throws Exception {
    assertEquals(List.of("user_id string yes", "event_time timestamp yes", "event_name string yes"),
        documented("events").subList(0, 3));
    assertEquals(List.of("user_id string yes"), documented("profiles").subList(0, 1));
  }
}
