import Foundation
import ModelIO

// A libFuzzer target over the safetensors parser: no input may crash it. Built normally, it
// replays the files given as arguments (a regression run over the corpus); built by
// `scripts/fuzz.sh safetensors SECONDS` with `-D FUZZING`, libFuzzer drives it.

/// Parses one input; every failure must be a thrown error.
func check(_ bytes: UnsafeRawBufferPointer) {
  _ = try? SafeTensorsFile.parse(bytes)
}

#if FUZZING
  /// libFuzzer's entry point: one input.
  @_cdecl("LLVMFuzzerTestOneInput")
  public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    check(UnsafeRawBufferPointer(start: data, count: size))
    return 0
  }

  @_silgen_name("LLVMFuzzerRunDriver")
  func runDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
  ) -> CInt

  // SwiftPM links executables with `main` renamed to `<module>_main`; libFuzzer's own
  // driver takes over from there.
  /// The program's entry point under SwiftPM's renaming: hands over to libFuzzer.
  @_cdecl("fuzz_safetensors_main")
  public func entry(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
  ) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments, fuzz)
  }
#else
  @main
  enum Replay {
    static func main() throws {
      for path in CommandLine.arguments.dropFirst() {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes.withUnsafeBytes { check($0) }
      }
      print("replayed \(CommandLine.arguments.count - 1) inputs")
    }
  }
#endif
