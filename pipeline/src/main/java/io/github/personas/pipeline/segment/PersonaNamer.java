package io.github.personas.pipeline.segment;

import io.github.personas.pipeline.config.PersonasConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Names a persona from its most distinguishing clustering inputs and the configured vocabulary.
 *
 * <p>A name is at most {@code max_adjectives} adjectives plus a noun, e.g. "Frequent big-spending
 * spenders" is avoided by the vocabulary and "Recent frequent late-night buyers" is typical. The
 * adjectives come from the inputs whose standardised difference from the population is largest in
 * absolute value, and only those at least {@code min_z} away and with a word for their side.
 */
public final class PersonaNamer {

  private final PersonasConfig.Naming config;

  public PersonaNamer(PersonasConfig.Naming config) {
    this.config = config;
  }

  /**
   * Every adjective that applies, most distinguishing first (not yet cut to max_adjectives).
   *
   * @param z standardised difference from the population per clustering input
   */
  public List<String> adjectives(Map<String, Double> z) {
    List<Map.Entry<PersonasConfig.Word, Double>> found = new ArrayList<>();
    for (PersonasConfig.Word w : config.vocabulary()) {
      Double v = z.get(w.feature());
      if (v == null || Double.isNaN(v) || Math.abs(v) < config.minZ()) {
        continue;
      }
      String word = v > 0 ? w.high() : w.low();
      if (!word.isEmpty()) {
        found.add(Map.entry(w, v));
      }
    }
    found.sort(Comparator.comparingDouble((Map.Entry<PersonasConfig.Word, Double> e) -> -Math.abs(e.getValue())));
    List<String> words = new ArrayList<>();
    for (Map.Entry<PersonasConfig.Word, Double> e : found) {
      String word = e.getValue() > 0 ? e.getKey().high() : e.getKey().low();
      if (!words.contains(word)) {
        words.add(word);
      }
    }
    return words;
  }

  /**
   * A name unique among {@code taken}: the first max_adjectives adjectives and the noun; on a
   * clash, a less distinguishing adjective takes the last place, and as a last resort a number
   * is appended.
   *
   * @param adjectives all applicable adjectives, most distinguishing first
   * @param noun       the persona's noun
   * @param taken      names already given in this run (compared case-insensitively)
   */
  public String uniqueName(List<String> adjectives, String noun, Set<String> taken) {
    int max = config.maxAdjectives();
    List<String> head = new ArrayList<>(adjectives.subList(0, Math.min(max, adjectives.size())));
    String name = compose(head, noun);
    if (!isTaken(name, taken)) {
      return name;
    }
    for (int i = max; i < adjectives.size() && max > 0; i++) {
      List<String> alt = new ArrayList<>(head.subList(0, max - 1));
      alt.add(adjectives.get(i));
      String candidate = compose(alt, noun);
      if (!isTaken(candidate, taken)) {
        return candidate;
      }
    }
    for (int n = 2; ; n++) {
      String candidate = name + " " + n;
      if (!isTaken(candidate, taken)) {
        return candidate;
      }
    }
  }

  /** "Typical users" without adjectives, else the adjectives and noun with a capital first letter. */
  static String compose(List<String> adjectives, String noun) {
    String text = adjectives.isEmpty() ? "typical " + noun : String.join(" ", adjectives) + " " + noun;
    return text.substring(0, 1).toUpperCase(Locale.ROOT) + text.substring(1).toLowerCase(Locale.ROOT);
  }

  private static boolean isTaken(String name, Set<String> taken) {
    return taken.stream().anyMatch(t -> t.equalsIgnoreCase(name));
  }
}
