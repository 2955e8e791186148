"""Request and response models of the API (separate from the storage models)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from api.clock import TIME_RULE, AlmatyDateTime, StoredDateTime
from geo.crs import ALMATY_BBOX_DEG

LON_MIN, LAT_MIN, LON_MAX, LAT_MAX = ALMATY_BBOX_DEG
MAX_INT: int = 2**31 - 1  # the largest integer a parameter may take (PostgreSQL INTEGER)
TripStatus = Literal["assigned", "en_route", "on_board", "completed", "no_show", "unserved", "cancelled"]
Role = Literal["admin", "planner", "dispatcher", "device"]


class Point(BaseModel):
    """A point in Almaty (WGS 84 degrees)."""

    model_config = ConfigDict(extra="forbid")
    lon: float = Field(ge=LON_MIN, le=LON_MAX, strict=True, description="longitude, degrees (Almaty service area); a number")
    lat: float = Field(ge=LAT_MIN, le=LAT_MAX, strict=True, description="latitude, degrees (Almaty service area); a number")


class TripCreate(BaseModel):
    __doc__ = f"""A new trip request; the pickup window lies on one service day. Times: {TIME_RULE}."""

    model_config = ConfigDict(extra="forbid")
    pickup: Point
    dropoff: Point
    earliest_pickup: AlmatyDateTime
    latest_pickup: AlmatyDateTime
    latest_dropoff: AlmatyDateTime | None = None
    wheelchair: StrictBool
    companions: StrictInt = Field(0, ge=0, le=4, description="companions travelling along (seats)")
    operator: str | None = Field(None, description="operator to serve it; dispatchers may only name their own")
    user_ref: str | None = Field(None, max_length=64, description="pseudonymous user id")

    @model_validator(mode="after")
    def _windows(self) -> TripCreate:
        if self.latest_pickup < self.earliest_pickup:
            raise ValueError("latest_pickup is before earliest_pickup (inverted window)")
        if self.latest_pickup.date() != self.earliest_pickup.date():
            raise ValueError("earliest_pickup and latest_pickup must be on the same service day")
        if self.latest_dropoff is not None and self.latest_dropoff <= self.earliest_pickup:
            raise ValueError("latest_dropoff must be after earliest_pickup")
        return self


class TripOut(BaseModel):
    """A stored trip with its assignment; all times are Almaty time with their offset (+05:00)."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    service_date: str
    status: TripStatus
    operator: str | None
    vehicle_id: str | None
    pickup_eta: dt.datetime | None = None
    dropoff_eta: dt.datetime | None = None
    reason: str | None
    pickup: Point
    dropoff: Point
    earliest_pickup: dt.datetime
    latest_pickup: dt.datetime
    latest_dropoff: dt.datetime | None
    wheelchair: bool
    companions: int
    late_min: float | None = Field(None, description="predicted (or actual) pickup lateness after latest_pickup, minutes; > 0 is late")


class TripEventOut(BaseModel):
    """One entry of a trip's history."""

    model_config = ConfigDict(from_attributes=True)
    at: StoredDateTime
    kind: str
    vehicle_id: str | None
    detail: dict | None


class KeyCreate(BaseModel):
    """A new API key."""

    model_config = ConfigDict(extra="forbid")
    role: Role
    operator: str | None = None
    label: str | None = Field(None, max_length=128)
    vehicle_id: str | None = Field(None, max_length=16, description="device keys only: the vehicle it reports for")


class KeyOut(BaseModel):
    """An API key's public record (never its secret or hash)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    prefix: str
    role: str
    operator: str | None
    label: str | None
    revoked: bool
    vehicle_id: str | None = None


class KeyCreated(KeyOut):
    """A freshly created key: ``key`` is shown once."""

    key: str


class JobOut(BaseModel):
    """A background job."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: str
    service_date: str
    operator: str | None
    status: str
    result: dict | None


class ReoptimiseRequest(BaseModel):
    """Parameters of a batch re-optimisation."""

    model_config = ConfigDict(extra="forbid")
    date: dt.date = Field(description="the service day (Almaty), YYYY-MM-DD")
    time_limit_s: float = Field(30.0, gt=0, le=600, strict=True, description="solver time limit, seconds")
