package io.github.personas.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.io.Contract;
import io.github.personas.pipeline.testing.SparkTestSession;
import io.github.personas.pipeline.validate.ContractValidator;
import io.github.personas.pipeline.validate.SourceCounts;
import java.io.File;
import java.time.LocalDate;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shipped example mappings read the real public files (shared/datasets) as they are. */
class ExampleConfigsTest {

  private static SourceCounts validate(String conf, String date) {
    PersonasConfig c = ConfigLoader.load(new File("../conf/examples/" + conf));
    assumeTrue(new File("../" + c.events().path()).isFile(), "shared/datasets is not beside the checkout");
    // Paths in the examples are relative to the repository root; tests run in jobs/.
    PersonasConfig fromJobs = c.withPaths("../" + c.events().path(), null, null);
    return new ContractValidator(SparkTestSession.get(), LocalDate.parse(date)).events(fromJobs.events()).counts();
  }

  @Test
  void onlineRetailReconcilesAllRowsAndQuarantinesRowsWithoutCustomer() {
    SourceCounts c = validate("online-retail.conf", "2011-12-09");
    assertEquals(541_909, c.read());
    assertEquals(Map.of("missing_user_id", 135_080L), c.byReason());
    assertEquals(406_829, c.accepted());
    assertEquals(0, c.duplicates());
    assertEquals(0, c.filtered());
  }

  @Test
  void cdnowSkipsOnlyTheHeaderLine() {
    SourceCounts c = validate("cdnow.conf", "1998-06-30");
    assertEquals(69_660, c.read());
    assertEquals(1, c.filtered());
    assertEquals(69_659, c.accepted());
    assertEquals(0, c.quarantined());
    assertEquals(Contract.EVENTS.name(), c.source());
  }
}
