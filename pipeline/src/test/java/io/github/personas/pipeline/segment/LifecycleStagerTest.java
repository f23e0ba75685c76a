package io.github.personas.pipeline.segment;

import io.github.personas.pipeline.engine.Caches;
import static io.github.personas.pipeline.testing.ContractRows.event;
import static io.github.personas.pipeline.testing.ContractRows.profile;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.NamedExpr;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.features.FeatureBuilder;
import io.github.personas.pipeline.io.Contract;
import io.github.personas.pipeline.testing.ContractRows;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.sql.Timestamp;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** The shipped lifecycle table on hand-made users; run date 2024-03-10. */
class LifecycleStagerTest {

  private final Caches caches = new Caches();

  @org.junit.jupiter.api.AfterEach
  void releaseCaches() {
    caches.close();
  }

  private static final LocalDate D = LocalDate.parse("2024-03-10");
  private final SparkSession spark = SparkTestSession.get();

  private static String day(int daysBeforeD) {
    return D.minusDays(daysBeforeD) + " 12:00:00";
  }

  private Dataset<Row> features(List<ContractRows> events, List<ContractRows> profiles) {
    return new FeatureBuilder(D, "UTC").apply(ContractRows.frame(spark, Contract.EVENTS, events),
        ContractRows.frame(spark, Contract.PROFILES, profiles), caches);
  }

  /** One user of each kind the shipped stages tell apart. */
  private Dataset<Row> everyKind() {
    List<ContractRows> ev = new ArrayList<>();
    ev.add(event("churned", day(40), "session_start"));
    ev.add(event("churned", day(10), "uninstall"));
    ev.add(event("dormant", day(50), "session_start"));
    ev.add(event("dormant", day(40), "session_start"));
    ev.add(event("dormant", day(30), "session_start"));
    ev.add(event("new", day(3), "install"));
    ev.add(event("new", day(3), "session_start"));
    ev.add(event("low", day(20), "session_start"));
    ev.add(event("low", day(1), "session_start"));
    ev.add(event("low", day(1), "purchase").order("o1", 9.5));
    for (int i = 0; i < 10; i++) {
      ev.add(event("nonpayer", day(i * 3), "session_start"));
      ev.add(event("power", day(i), "session_start").with("duration_s", 600.0));
      ev.add(event("power", day(i) .replace("12:00", "18:00"), "session_start").with("duration_s", 600.0));
      ev.add(event("power", day(i).replace("12:00", "20:00"), "session_start").with("duration_s", 600.0));
    }
    ev.add(event("habit", day(20), "session_start"));
    ev.add(event("habit", day(2), "session_start"));
    ev.add(event("casual", day(20), "session_start"));
    ev.add(event("casual", day(12), "session_start"));
    // Only a refund, 70 days ago, as a transaction export shows a customer who returned goods:
    // they used the shop, so they are not "never launched" but silent for 70 days.
    ev.add(event("refunder", day(70), "refund").order("r1", 5));
    // Transaction data, no sessions: silence is judged against the customer's usual interval
    // between orders. 18 days since a monthly-ish buyer's last order (every 20 days) is not
    // dormant; 21 days since a weekly buyer's is.
    ev.add(event("monthly", day(58), "purchase").order("m1", 50));
    ev.add(event("monthly", day(38), "purchase").order("m2", 50));
    ev.add(event("monthly", day(18), "purchase").order("m3", 50));
    ev.add(event("weekly", day(35), "purchase").order("w1", 50));
    ev.add(event("weekly", day(28), "purchase").order("w2", 50));
    ev.add(event("weekly", day(21), "purchase").order("w3", 50));
    // Installed 10 days ago and never opened the app; installed 3 days ago and not yet.
    List<ContractRows> profiles = List.of(profile("never").with("install_time", Timestamp.valueOf(day(10))),
        profile("fresh").with("install_time", Timestamp.valueOf(day(3))));
    return features(ev, profiles);
  }

  @Test
  void shippedStagesGiveEachKindOfUserItsStage() {
    LifecycleStager stager = new LifecycleStager(ConfigLoader.defaults().lifecycle());
    Map<String, String> stage = stager.apply(everyKind()).collectAsList().stream()
        .collect(Collectors.toMap(r -> r.getAs("user_id"), r -> r.getAs(LifecycleStager.LIFECYCLE_STAGE)));
    assertEquals(Map.ofEntries(
        Map.entry("never", "Never launched"),
        Map.entry("churned", "Churned"),
        Map.entry("dormant", "Dormant"),
        Map.entry("new", "New"),
        Map.entry("fresh", "New"),
        Map.entry("power", "Power user"),
        Map.entry("low", "Converted low spender"),
        Map.entry("nonpayer", "Active non-payer"),
        Map.entry("habit", "Habit forming"),
        Map.entry("casual", "Casual"),
        Map.entry("refunder", "Churned"),
        Map.entry("monthly", "Converted"),
        Map.entry("weekly", "Dormant")), stage);
  }

  @Test
  void theNeverLaunchedRulePersonaTakesExactlyTheUsersOfTheNeverLaunchedStage() {
    // A persona and a stage of one name must not disagree: a user installed 10 days ago who never
    // opened the app is both; one installed 3 days ago (New) and a customer who only returned
    // goods are neither.
    Dataset<Row> staged = new LifecycleStager(ConfigLoader.defaults().lifecycle()).apply(everyKind());
    PersonasConfig.RulePersona rule = ConfigLoader.defaults().personas().rules().stream()
        .filter(r -> r.name().equals("Never-launched users")).findFirst().orElseThrow();
    List<String> byRule = staged.where("coalesce(" + rule.when() + ", false)").select("user_id").orderBy("user_id")
        .collectAsList().stream().map(r -> r.getString(0)).toList();
    List<String> byStage = staged.where(LifecycleStager.LIFECYCLE_STAGE + " = 'Never launched'").select("user_id")
        .orderBy("user_id").collectAsList().stream().map(r -> r.getString(0)).toList();
    assertEquals(List.of("never"), byStage);
    assertEquals(byStage, byRule);
  }

  @Test
  void aRuleOverAMissingColumnIsNamedBeforeAnyDataIsRead() {
    LifecycleStager stager = new LifecycleStager(new PersonasConfig.Lifecycle("Other",
        List.of(new NamedExpr("Whales", "lifetime_value > 1000"))));
    ConfigException e = assertThrows(ConfigException.class, () -> stager.checkRules(features(List.of(), List.of())));
    assertTrue(e.getMessage().contains("personas.lifecycle.stages[0] 'Whales'"), e.getMessage());
  }

  @Test
  void shippedStagesResolveAgainstTheFeaturesTable() {
    new LifecycleStager(ConfigLoader.defaults().lifecycle()).checkRules(features(List.of(), List.of()));
  }
}
