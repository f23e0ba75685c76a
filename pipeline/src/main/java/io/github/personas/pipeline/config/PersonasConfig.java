package io.github.personas.pipeline.config;

import java.util.List;

/**
 * The whole validated configuration of a run; immutable, built by {@link ConfigLoader}.
 *
 * @param origin            where it was loaded from (for messages and the summary)
 * @param hash              SHA-256 of the resolved configuration, written to the run summary
 * @param timezone          IANA zone for time-of-day features
 * @param sessionWindows    trailing windows in days of the sessions_<N>d features
 * @param events            the events source
 * @param profiles          the profiles source (may be absent)
 * @param outputPath        root folder of the output tables
 * @param filesPerPartition Parquet files written per table partition
 * @param quality           data-quality gates
 * @param rfm               RFM scoring and segment rules
 * @param lifecycle         lifecycle stage rules
 * @param holdout           control-group settings
 * @param personas          k-means persona settings
 * @param reportDimensions  segments columns that get KPI rows
 */
public record PersonasConfig(
    String origin,
    String hash,
    String timezone,
    List<Integer> sessionWindows,
    SourceConfig events,
    SourceConfig profiles,
    String outputPath,
    int filesPerPartition,
    Quality quality,
    Rfm rfm,
    Lifecycle lifecycle,
    Holdout holdout,
    Personas personas,
    List<String> reportDimensions) {

  public PersonasConfig {
    sessionWindows = List.copyOf(sessionWindows);
    reportDimensions = List.copyOf(reportDimensions);
  }

  /**
   * Data-quality gates; a breach stops the run with exit code 3.
   *
   * @param maxQuarantineShare largest share (0..1) of event rows read that may be quarantined
   * @param minAcceptedEvents  fewest accepted event rows
   * @param minUsers           fewest users in the features table
   */
  public record Quality(double maxQuarantineShare, long minAcceptedEvents, long minUsers) {}

  /**
   * RFM scoring and the ordered segment rule table.
   *
   * @param quantileRelativeError relative error of the buyers' quantiles (0 = exact)
   * @param noPurchaseSegment     segment of users who never purchased
   * @param segments              ordered rules over r_score, f_score, m_score; first match wins
   */
  public record Rfm(double quantileRelativeError, String noPurchaseSegment, List<NamedExpr> segments) {
    public Rfm {
      segments = List.copyOf(segments);
    }
  }

  /**
   * Lifecycle stages: ordered rules over the features table, first match wins.
   *
   * @param otherwise stage of users no rule matches
   * @param stages    the rules in priority order
   */
  public record Lifecycle(String otherwise, List<NamedExpr> stages) {
    public Lifecycle {
      stages = List.copyOf(stages);
    }
  }

  /**
   * Holdout (control) group drawn by a salted hash of user_id.
   *
   * @param share share of users in the holdout, 0..0.5
   * @param salt  changes which users are drawn
   */
  public record Holdout(double share, String salt) {}

  /**
   * K-means persona settings.
   *
   * @param k             number of clusters
   * @param seed          k-means seed
   * @param maxIterations k-means iteration cap
   * @param features      clustering inputs as Spark SQL expressions over the features table
   */
  public record Personas(int k, long seed, int maxIterations, List<NamedExpr> features) {
    public Personas {
      features = List.copyOf(features);
    }
  }

  /** Copy with other input and output paths, as the CLI's options give them. */
  public PersonasConfig withPaths(String eventsPath, String profilesPath, String output) {
    return new PersonasConfig(
        origin,
        hash,
        timezone,
        sessionWindows,
        eventsPath == null ? events : events.withPath(eventsPath),
        profilesPath == null ? profiles : profiles.withPath(profilesPath),
        output == null ? outputPath : output,
        filesPerPartition,
        quality,
        rfm,
        lifecycle,
        holdout,
        personas,
        reportDimensions);
  }
}
