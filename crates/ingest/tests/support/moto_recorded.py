"""moto_server with its request recorder made safe for concurrent requests.

moto's recorder appends each request to its file with two unlocked writes,
so under concurrent load lines interleave and the recording cannot be
replayed. This wraps the write in a lock, then runs moto_server as usual.
Used by crates/ingest/tests/stress.rs to bring a killed server back with
its data (moto keeps data in memory only).

usage: python3 moto_recorded.py [moto_server arguments]
(with MOTO_ENABLE_RECORDING=True and MOTO_RECORDER_FILEPATH=<file>)
"""

import sys
import threading

from moto.moto_api._internal.recorder.models import Recorder
from moto.server import main

_lock = threading.Lock()
_record = Recorder._record_request


def _locked_record(self, *args, **kwargs):
    with _lock:
        return _record(self, *args, **kwargs)


Recorder._record_request = _locked_record

if __name__ == "__main__":
    sys.exit(main())
