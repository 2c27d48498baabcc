import CMPI
import Foundation
import Linalg

/// A non-blocking collective in flight (`MPI_Ialltoallv`, `MPI_Iallreduce`, …): it owns the
/// buffers MPI reads and writes until it completes. Compute while it travels, then `wait`.
///
/// `wait` polls `MPI_Test` and throws `DistributedError.timedOut` after the communicator's
/// timeout instead of hanging when another rank has stopped taking part; the buffers of a
/// collective that timed out are never freed (MPI may still write them), which is fine for
/// a process about to report the error and exit.
public final class PendingCollective<Element: MPIElement>: @unchecked Sendable {
  /// What the collective is, for error messages (`"all-to-all-v"`).
  public let operation: String
  private var request: MPI_Request?
  private let received: MessageBuffer
  private let receivedCount: Int
  private var retained: [MessageBuffer]
  private let timeout: Duration
  private var state = State.inFlight

  private enum State { case inFlight, completed, abandoned }

  /// Starts `start`, which is given the request to fill; `received` is the buffer MPI
  /// writes `receivedCount` elements into, `retained` whatever else it reads meanwhile.
  init(
    operation: String, received: MessageBuffer, receivedCount: Int, retained: [MessageBuffer],
    timeout: Duration, start: (UnsafeMutablePointer<MPI_Request?>) -> Int32
  ) throws(DistributedError) {
    self.operation = operation
    self.received = received
    self.receivedCount = receivedCount
    self.retained = retained
    self.timeout = timeout
    self.request = cmpi_request_null()
    let code = start(&request)
    if code != cmpi_success() {
      state = .completed
      throw Communicator.error(call: operation, code: code)
    }
  }

  /// Whether it has completed (one `MPI_Test`, which also lets MPI progress it).
  public func test() throws(DistributedError) -> Bool {
    if state != .inFlight { return true }
    var flag: Int32 = 0
    let code = MPI_Test(&request, &flag, cmpi_status_ignore())
    if code != cmpi_success() {
      state = .completed
      throw Communicator.error(call: operation, code: code)
    }
    if flag != 0 { state = .completed }
    return flag != 0
  }

  /// Waits for completion and returns the received elements.
  ///
  /// - Throws: `DistributedError.timedOut` when the collective has not completed within
  ///   the communicator's timeout, `.mpi` when MPI reports an error.
  public func wait() throws(DistributedError) -> [Element] {
    try waitForCompletion()
    let values = received.base.bindMemory(to: Element.self, capacity: receivedCount)
    return Array(UnsafeBufferPointer(start: values, count: receivedCount))
  }

  /// Waits for completion and returns the received elements as the rows of a matrix of
  /// `columns` columns, without copying them.
  public func waitForRows(columns: Int) throws(DistributedError) -> Matrix<Element>
  where Element: BLASScalar {
    try waitForCompletion()
    precondition(
      columns > 0 && receivedCount % columns == 0, "\(receivedCount) elements are not rows of \(columns)")
    let values = received.base.bindMemory(to: Element.self, capacity: receivedCount)
    return Matrix(rows: receivedCount / columns, columns: columns, unsafeMemory: values, owner: received)
  }

  private func waitForCompletion() throws(DistributedError) {
    let started = ContinuousClock.now
    let deadline = started + timeout
    let spinning = started + .milliseconds(2)
    while try !test() {
      if ContinuousClock.now >= deadline {
        state = .abandoned
        let (seconds, attoseconds) = timeout.components
        throw .timedOut(operation: operation, seconds: Double(seconds) + Double(attoseconds) * 1e-18)
      }
      // Spin for 2 ms (exchanges on one machine finish in microseconds to milliseconds, and a
      // nap would add its own wake-up latency to them), then back off to 0.1 ms naps so that a
      // rank waiting for a slower one leaves the cores to the ranks still computing.
      if ContinuousClock.now >= spinning { Thread.sleep(forTimeInterval: 1e-4) }
    }
    retained.removeAll()
  }

  deinit {
    switch state {
    case .inFlight:
      // Dropped without a wait: complete it so that MPI never writes freed memory.
      _ = MPI_Wait(&request, cmpi_status_ignore())
    case .abandoned:
      // MPI may still write the buffers; leaking them is the safe choice.
      _ = Unmanaged.passRetained(received)
      for buffer in retained { _ = Unmanaged.passRetained(buffer) }
    case .completed:
      break
    }
  }
}
