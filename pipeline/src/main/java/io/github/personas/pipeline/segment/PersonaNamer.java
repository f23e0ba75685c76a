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
 * <p>A name is at most {@code max_adjectives} adjectives plus a noun, e.g. "Frequent late-night
 * buyers". The adjectives come from the inputs whose standardised difference from the population
 * is largest in absolute value and that have a word for their side; those at least {@code min_z}
 * away are the persona's strong traits, and a persona without one is named by its strongest
 * relative ones, never "typical" or numbered.
 */
public final class PersonaNamer {

  /** Below this |z| a word says nothing even relatively. */
  private static final double RELATIVE_MIN_Z = 0.05;

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
    return words(z, config.minZ());
  }

  /**
   * Every input's word for its side, strongest first, however weak: a persona with no input
   * beyond min_z is still named by what sets it apart most.
   *
   * @param z standardised difference from the population per clustering input
   */
  public List<String> ranked(Map<String, Double> z) {
    return words(z, RELATIVE_MIN_Z);
  }

  /** The word for the side of every input at least {@code minZ} away, largest |z| first, each word once. */
  private List<String> words(Map<String, Double> z, double minZ) {
    List<Map.Entry<String, Double>> found = new ArrayList<>();
    for (PersonasConfig.Word w : config.vocabulary()) {
      Double v = z.get(w.feature());
      if (v == null || Double.isNaN(v) || Math.abs(v) < minZ) {
        continue;
      }
      String word = v > 0 ? w.high() : w.low();
      if (!word.isEmpty()) {
        found.add(Map.entry(word, Math.abs(v)));
      }
    }
    found.sort(Comparator.comparingDouble((Map.Entry<String, Double> e) -> -e.getValue()));
    List<String> words = new ArrayList<>();
    for (Map.Entry<String, Double> e : found) {
      if (!words.contains(e.getKey())) {
        words.add(e.getKey());
      }
    }
    return words;
  }

  /**
   * A name unique among {@code taken}, without numbers: the strongest words (as many as are
   * beyond min_z, at least one, at most max_adjectives) and the noun; on a clash, the next
   * strongest words are added up to max_adjectives, then weaker words take the last place; as a
   * last resort the persona's dominant lifecycle stage qualifies the name.
   *
   * @param ranked    every word that applies, strongest first ({@link #ranked})
   * @param strong    how many of the persona's words are beyond min_z
   * @param noun      the persona's noun
   * @param taken     names already given in this run (compared case-insensitively)
   * @param lifecycle the persona's most frequent lifecycle stage, or null
   */
  public String uniqueName(List<String> ranked, int strong, String noun, Set<String> taken, String lifecycle) {
    int max = Math.max(1, config.maxAdjectives());
    int n = Math.min(Math.max(1, strong), Math.min(max, ranked.size()));
    int most = Math.min(max, ranked.size());
    for (int size = n; size <= most; size++) {
      String name = compose(ranked.subList(0, size), noun);
      if (!isTaken(name, taken)) {
        return name;
      }
    }
    for (int i = most; i < ranked.size() && most > 0; i++) {
      List<String> alt = new ArrayList<>(ranked.subList(0, most - 1));
      alt.add(ranked.get(i));
      String candidate = compose(alt, noun);
      if (!isTaken(candidate, taken)) {
        return candidate;
      }
    }
    String base = compose(ranked.subList(0, Math.min(n, ranked.size())), noun);
    String qualified = base + ", mostly " + (lifecycle == null ? "unstaged" : lifecycle.toLowerCase(Locale.ROOT));
    if (!isTaken(qualified, taken)) {
      return qualified;
    }
    // Two personas alike in every word and stage: told apart by the words they lack.
    for (int i = 0; ; i++) {
      String candidate = qualified + " (" + "other ".repeat(i + 1).trim() + ")";
      if (!isTaken(candidate, taken)) {
        return candidate;
      }
    }
  }

  /** The noun alone when there is no word at all, else the words and the noun, with a capital first letter. */
  static String compose(List<String> adjectives, String noun) {
    String text = adjectives.isEmpty() ? "all other " + noun : String.join(" ", adjectives) + " " + noun;
    return text.substring(0, 1).toUpperCase(Locale.ROOT) + text.substring(1).toLowerCase(Locale.ROOT);
  }

  private static boolean isTaken(String name, Set<String> taken) {
    return taken.stream().anyMatch(t -> t.equalsIgnoreCase(name));
  }
}
