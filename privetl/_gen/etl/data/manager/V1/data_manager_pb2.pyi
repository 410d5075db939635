import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OutboxEntryState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTBOX_ENTRY_STATE_UNSPECIFIED: _ClassVar[OutboxEntryState]
    AWAITING_REVIEW: _ClassVar[OutboxEntryState]
    UPLOADED: _ClassVar[OutboxEntryState]
    DISCARDED: _ClassVar[OutboxEntryState]
    EXPIRED: _ClassVar[OutboxEntryState]

class RunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATE_UNSPECIFIED: _ClassVar[RunState]
    QUEUED: _ClassVar[RunState]
    RUNNING: _ClassVar[RunState]
    PAUSED: _ClassVar[RunState]
    SUCCEEDED: _ClassVar[RunState]
    FAILED: _ClassVar[RunState]
    STOPPED: _ClassVar[RunState]
    AWAITING_UPLOAD: _ClassVar[RunState]
OUTBOX_ENTRY_STATE_UNSPECIFIED: OutboxEntryState
AWAITING_REVIEW: OutboxEntryState
UPLOADED: OutboxEntryState
DISCARDED: OutboxEntryState
EXPIRED: OutboxEntryState
RUN_STATE_UNSPECIFIED: RunState
QUEUED: RunState
RUNNING: RunState
PAUSED: RunState
SUCCEEDED: RunState
FAILED: RunState
STOPPED: RunState
AWAITING_UPLOAD: RunState

class OutboxEntry(_message.Message):
    __slots__ = ("id", "task_id", "run_id", "table", "state", "rows", "created_at", "retain_until", "uploaded_at", "published_version", "columns", "ext_datamodule_id", "revision", "edits", "privacy")
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    RETAIN_UNTIL_FIELD_NUMBER: _ClassVar[int]
    UPLOADED_AT_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_VERSION_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    EXT_DATAMODULE_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    EDITS_FIELD_NUMBER: _ClassVar[int]
    PRIVACY_FIELD_NUMBER: _ClassVar[int]
    id: str
    task_id: str
    run_id: str
    table: str
    state: OutboxEntryState
    rows: int
    created_at: _timestamp_pb2.Timestamp
    retain_until: _timestamp_pb2.Timestamp
    uploaded_at: _timestamp_pb2.Timestamp
    published_version: int
    columns: _containers.RepeatedScalarFieldContainer[str]
    ext_datamodule_id: str
    revision: int
    edits: int
    privacy: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., task_id: _Optional[str] = ..., run_id: _Optional[str] = ..., table: _Optional[str] = ..., state: _Optional[_Union[OutboxEntryState, str]] = ..., rows: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retain_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., uploaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., published_version: _Optional[int] = ..., columns: _Optional[_Iterable[str]] = ..., ext_datamodule_id: _Optional[str] = ..., revision: _Optional[int] = ..., edits: _Optional[int] = ..., privacy: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ColumnStatistics(_message.Message):
    __slots__ = ("column", "type", "nulls", "distinct", "min", "max")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NULLS_FIELD_NUMBER: _ClassVar[int]
    DISTINCT_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    column: str
    type: str
    nulls: int
    distinct: int
    min: str
    max: str
    def __init__(self, column: _Optional[str] = ..., type: _Optional[str] = ..., nulls: _Optional[int] = ..., distinct: _Optional[int] = ..., min: _Optional[str] = ..., max: _Optional[str] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("id", "task_id", "state", "started_by", "started_at", "ended_at", "stage", "rows_in", "rows_out", "report_json", "error", "stages_done", "stage_seconds", "stage_executions", "attempts", "published_version", "pause_requested", "upload")
    class StageSecondsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class StageExecutionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STARTED_BY_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    ROWS_IN_FIELD_NUMBER: _ClassVar[int]
    ROWS_OUT_FIELD_NUMBER: _ClassVar[int]
    REPORT_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STAGES_DONE_FIELD_NUMBER: _ClassVar[int]
    STAGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STAGE_EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_VERSION_FIELD_NUMBER: _ClassVar[int]
    PAUSE_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_FIELD_NUMBER: _ClassVar[int]
    id: str
    task_id: str
    state: RunState
    started_by: str
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    stage: str
    rows_in: int
    rows_out: int
    report_json: str
    error: str
    stages_done: _containers.RepeatedScalarFieldContainer[str]
    stage_seconds: _containers.ScalarMap[str, float]
    stage_executions: _containers.ScalarMap[str, int]
    attempts: int
    published_version: int
    pause_requested: bool
    upload: bool
    def __init__(self, id: _Optional[str] = ..., task_id: _Optional[str] = ..., state: _Optional[_Union[RunState, str]] = ..., started_by: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stage: _Optional[str] = ..., rows_in: _Optional[int] = ..., rows_out: _Optional[int] = ..., report_json: _Optional[str] = ..., error: _Optional[str] = ..., stages_done: _Optional[_Iterable[str]] = ..., stage_seconds: _Optional[_Mapping[str, float]] = ..., stage_executions: _Optional[_Mapping[str, int]] = ..., attempts: _Optional[int] = ..., published_version: _Optional[int] = ..., pause_requested: _Optional[bool] = ..., upload: _Optional[bool] = ...) -> None: ...

class GetAllRequest(_message.Message):
    __slots__ = ("task_id", "states", "page_size", "page_token")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    states: _containers.RepeatedScalarFieldContainer[OutboxEntryState]
    page_size: int
    page_token: str
    def __init__(self, task_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[OutboxEntryState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetAllResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[OutboxEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[OutboxEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("entry_id", "preview_rows", "preview_offset")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_ROWS_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_OFFSET_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    preview_rows: int
    preview_offset: int
    def __init__(self, entry_id: _Optional[str] = ..., preview_rows: _Optional[int] = ..., preview_offset: _Optional[int] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("entry", "records", "statistics")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    entry: OutboxEntry
    records: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    statistics: _containers.RepeatedCompositeFieldContainer[ColumnStatistics]
    def __init__(self, entry: _Optional[_Union[OutboxEntry, _Mapping]] = ..., records: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., statistics: _Optional[_Iterable[_Union[ColumnStatistics, _Mapping]]] = ...) -> None: ...

class RecordChange(_message.Message):
    __slots__ = ("add", "edit", "delete_key")
    ADD_FIELD_NUMBER: _ClassVar[int]
    EDIT_FIELD_NUMBER: _ClassVar[int]
    DELETE_KEY_FIELD_NUMBER: _ClassVar[int]
    add: _struct_pb2.Struct
    edit: EditRecord
    delete_key: str
    def __init__(self, add: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., edit: _Optional[_Union[EditRecord, _Mapping]] = ..., delete_key: _Optional[str] = ...) -> None: ...

class EditRecord(_message.Message):
    __slots__ = ("key", "values")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    key: str
    values: _struct_pb2.Struct
    def __init__(self, key: _Optional[str] = ..., values: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ModifieRequest(_message.Message):
    __slots__ = ("entry_id", "changes", "reason")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    changes: _containers.RepeatedCompositeFieldContainer[RecordChange]
    reason: str
    def __init__(self, entry_id: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[RecordChange, _Mapping]]] = ..., reason: _Optional[str] = ...) -> None: ...

class ModifieResponse(_message.Message):
    __slots__ = ("result", "entry")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    result: bool
    entry: OutboxEntry
    def __init__(self, result: _Optional[bool] = ..., entry: _Optional[_Union[OutboxEntry, _Mapping]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("task_id", "page_size", "page_token")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    page_size: int
    page_token: str
    def __init__(self, task_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class GetRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...
