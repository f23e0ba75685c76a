package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.personas.pipeline.config.PersonasConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PersonaNamerTest {

  private final PersonaNamer namer = new PersonaNamer(new PersonasConfig.Naming(0.5, 2, List.of(
      new PersonasConfig.Word("frequency", "frequent", "rare"),
      new PersonasConfig.Word("recency", "lapsed", "recent"),
      new PersonasConfig.Word("night", "late-night", ""),
      new PersonasConfig.Word("monetary", "big-spending", "")), List.of(), List.of(), "users", List.of()));

  private static Map<String, Double> z(Object... pairs) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      m.put((String) pairs[i], ((Number) pairs[i + 1]).doubleValue());
    }
    return m;
  }

  @Test
  void adjectivesComeFromTheLargestDifferencesWithAWordForTheirSide() {
    // night is low but has no low word; monetary is below min_z; recency low -> recent
    List<String> words = namer.adjectives(z("frequency", 1.2, "recency", -2.0, "night", -3.0, "monetary", 0.3));
    assertEquals(List.of("recent", "frequent"), words);
  }

  @Test
  void aNameIsAtMostMaxAdjectivesPlusTheNounWithACapital() {
    assertEquals("Recent frequent buyers",
        namer.uniqueName(List.of("recent", "frequent", "late-night"), "buyers", Set.of()));
    assertEquals("Typical users", namer.uniqueName(List.of(), "users", Set.of()));
  }

  @Test
  void aClashTriesTheNextAdjectiveThenANumber() {
    assertEquals("Recent late-night buyers",
        namer.uniqueName(List.of("recent", "frequent", "late-night"), "buyers", Set.of("Recent frequent buyers")));
    assertEquals("Recent frequent buyers 2",
        namer.uniqueName(List.of("recent", "frequent"), "buyers", Set.of("recent frequent buyers")));
  }
}
