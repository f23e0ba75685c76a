package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

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
  void aNameIsTheStrongWordsUpToMaxAdjectivesPlusTheNounWithACapital() {
    assertEquals("Recent frequent buyers",
        namer.uniqueName(List.of("recent", "frequent", "late-night"), 3, "buyers", Set.of(), "Converted"));
    assertEquals("Recent buyers", namer.uniqueName(List.of("recent", "frequent"), 1, "buyers", Set.of(), "Converted"));
  }

  @Test
  void aPersonaWithoutAStrongTraitIsNamedByItsStrongestRelativeOneNeverTypical() {
    List<String> ranked = namer.ranked(z("frequency", 0.3, "recency", -0.1, "night", 0.02, "monetary", 0.2));
    assertEquals(List.of("frequent", "big-spending", "recent"), ranked);
    assertEquals("Frequent users", namer.uniqueName(ranked, 0, "users", Set.of(), "Casual"));
  }

  @Test
  void aClashTriesWeakerWordsThenOneMoreWordThenTheLifecycleStageNeverANumber() {
    assertEquals("Recent late-night buyers", namer.uniqueName(List.of("recent", "frequent", "late-night"), 2,
        "buyers", Set.of("Recent frequent buyers"), "Converted"));
    assertEquals("Recent frequent buyers", namer.uniqueName(List.of("recent", "frequent"), 1, "buyers",
        Set.of("recent buyers"), "Converted"));
    String last = namer.uniqueName(List.of("recent", "frequent"), 2, "buyers",
        Set.of("recent frequent buyers", "recent buyers", "frequent buyers"), "Converted");
    assertEquals("Recent frequent buyers, mostly converted", last);
    assertFalse(last.matches(".*\\d.*"));
  }
}
