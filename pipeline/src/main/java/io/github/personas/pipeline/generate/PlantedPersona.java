package io.github.personas.pipeline.generate;

/**
 * The kinds of user the generator plants, from the mobile-app lifecycle playbook.
 *
 * <p>Each has a share of users and behaviour parameters; the {@code truth} table records
 * every user's kind so clustering quality can be measured (adjusted Rand index).
 */
public enum PlantedPersona {
  NEVER_LAUNCHED(0.08),
  NEW_USER(0.10),
  ACTIVE_NON_PAYER(0.20),
  CONVERTED_LOW_SPENDER(0.18),
  LOYAL_BIG_SPENDER(0.10),
  LATE_NIGHT_FOOD(0.10),
  DORMANT(0.14),
  UNINSTALLED(0.10);

  private final double share;

  PlantedPersona(double share) {
    this.share = share;
  }

  /** Share of generated users of this kind. */
  public double share() {
    return share;
  }

  /** Snake-case label written to the truth table. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
