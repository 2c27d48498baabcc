import Foundation

/// Runs an example executable built beside the test bundle and captures what it prints.
enum ExampleRunner {
  struct Result {
    var status: Int32
    var output: String
    var errors: String
    /// Whether a signal ended the process (a trap, an abort): never a proper refusal.
    var crashed = false
    /// A refusal: a non-zero exit without a crash, with a one-line message naming `text`.
    func refused(naming text: String) -> Bool {
      status != 0 && !crashed && errors.contains(text) && !errors.contains("Fatal error")
    }
  }

  /// The folder SwiftPM puts the products in (the test bundle's own folder).
  static var productsFolder: URL {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
  }

  static func run(_ name: String, _ arguments: [String]) throws -> Result {
    let process = Process()
    process.executableURL = productsFolder.appendingPathComponent(name)
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
      errors: String(decoding: errorData, as: UTF8.self),
      crashed: process.terminationReason == .uncaughtSignal)
  }
}
