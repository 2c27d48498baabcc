import Foundation

/// Runs an executable product built beside the test bundle (an example program, a test
/// helper), directly or under `mpirun`, and captures what it prints.
public enum ProductRunner {
  /// How a run ended and what it printed.
  public struct Result: Sendable {
    /// The exit status (or the signal's number when `crashed`).
    public var status: Int32
    /// Standard output.
    public var output: String
    /// Standard error.
    public var errors: String
    /// Whether a signal ended the process (a trap, an abort): never a proper refusal.
    public var crashed = false
    /// A refusal: a non-zero exit without a crash, with a one-line message naming `text`.
    public func refused(naming text: String) -> Bool {
      status != 0 && !crashed && errors.contains(text) && !errors.contains("Fatal error")
    }
  }

  /// The folder SwiftPM puts the products in (the test bundle's own folder).
  public static var productsFolder: URL {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
  }

  /// Runs product `name` with `arguments`.
  public static func run(_ name: String, _ arguments: [String]) throws -> Result {
    try run(executable: productsFolder.appendingPathComponent(name), arguments)
  }

  /// Runs `name` on `ranks` MPI processes of this machine (`mpirun`, allowed as root,
  /// oversubscribed, unbound), killing the run if it outlives `limit` seconds so that a hang
  /// fails the test instead of stalling the suite.
  public static func runUnderMPI(ranks: Int, _ name: String, _ arguments: [String], limit: Double = 300)
    throws
    -> Result
  {
    var environment = ProcessInfo.processInfo.environment
    environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    return try run(
      executable: URL(fileURLWithPath: "/usr/bin/mpirun"),
      [
        "--oversubscribe", "--bind-to", "none", "-np", "\(ranks)",
        productsFolder.appendingPathComponent(name).path,
      ]
        + arguments, environment: environment, limit: limit)
  }

  /// Runs `executable`, killed after `limit` seconds when given.
  public static func run(
    executable: URL, _ arguments: [String], environment: [String: String]? = nil, limit: Double? = nil
  ) throws -> Result {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let limit {
      DispatchQueue.global().asyncAfter(deadline: .now() + limit) { [process] in
        if process.isRunning { process.terminate() }
      }
    }
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Both pipes drained at once: a child that fills one pipe's buffer while the other is
    // being read to its end would otherwise block for ever.
    nonisolated(unsafe) var errorData = Data()
    let errorsRead = DispatchGroup()
    DispatchQueue.global().async(group: errorsRead) {
      errorData = errors.fileHandleForReading.readDataToEndOfFile()
    }
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    errorsRead.wait()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
      errors: String(decoding: errorData, as: UTF8.self),
      crashed: process.terminationReason == .uncaughtSignal)
  }
}
