import Foundation

/// The parts the fuzz targets share: replaying a corpus in normal builds, and handing over
/// to libFuzzer in fuzzing builds (`-D FUZZING`, see `scripts/fuzz.sh`).
public enum FuzzDriver {
  /// Runs `check` on the contents of every file named on the command line.
  public static func replay(_ check: (UnsafeRawBufferPointer) -> Void) throws {
    let paths = CommandLine.arguments.dropFirst()
    for path in paths {
      let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
      bytes.withUnsafeBytes { check($0) }
    }
    print("replayed \(paths.count) inputs")
  }

  #if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    static func runDriver(
      _ argc: UnsafeMutablePointer<CInt>,
      _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
      _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    /// Hands the program over to libFuzzer with `callback` as the target.
    public static func run(
      _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
      _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt {
      var count = argc
      var arguments = argv
      return runDriver(&count, &arguments, callback)
    }
  #endif
}
