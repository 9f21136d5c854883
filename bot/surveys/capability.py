"""Surveys whose results are shown only in aggregate, as a capability.

An admin or an animator writes a survey in a direct chat with the bot (``!sondage créer``, a
guided conversation kept in the store: a restart resumes it). Once confirmed, the survey, one
delivery row per person of its audience and its jobs (delivery, a reminder, the close) are
written in one transaction. The delivery job sends each person the survey in their direct chat,
paced, each send with a transaction id derived from the job and the room, and marks it sent: a
restart sends what was not sent, once. People answer there one question at a time, stop and
resume (``!sondage reprendre``), change an answer until the close (``!sondage modifier``).

An anonymous survey's answers are kept under a token (``bot.surveys.tally.token``), never the
person's id; the survey's secret that makes tokens is erased at the close, and the groups kept
with the answers (territory, profession) are coarsened then to what results may show."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import secrets
from typing import Any
from zoneinfo import ZoneInfo

from bot import effects
from bot.capability import Capability, Core
from bot.dates import day_start, parse_day
from bot.errors import BadArgument, Conflict, MatrixError, NotFound, PermissionDenied
from bot.events import MemberRemoved
from bot.federation.capability import Federation
from bot.i18n import day_text, t
from bot.locks import KeyedLocks
from bot.matrix.content import notice
from bot.matrix.gateway import path_part
from bot.matrix.ids import server_of
from bot.moderation.policy import animated_by
from bot.news.broadcast import Pacer
from bot.reports.chart import size
from bot.reports.painter import Painter
from bot.scheduler import Again
from bot.store.surveys import SurveyRow, SurveyStore
from bot.store.vetting import VettingStore
from bot.surveys.layout import chart, csv_results
from bot.surveys.model import (
    BadAnswer,
    Draft,
    Offer,
    Question,
    ask,
    draft_answer,
    question_prompt,
    read_answer,
    shown_answer,
    start,
)
from bot.surveys.sharing import (
    OFFER,
    RESULT,
    combined,
    group_names,
    offer_content,
    offer_key,
    read_offer,
    read_result,
    result_content,
    result_key,
)
from bot.surveys.tally import OTHER, QuestionResult, coarsened, tally, token
from bot.vetting.form import DEFAULT_PROFESSIONS, offered

log = logging.getLogger(__name__)

DELIVER_JOB = "surveys.deliver"  # the survey sent to each person of its audience
REMIND_JOB = "surveys.remind"  # those who have not finished, reminded before the close
CLOSE_JOB = "surveys.close"  # closed: the secret erased, the author told the results
PEERS_JOB = "surveys.peers"  # the peers' directory rooms read for surveys they share
PEERS_EVERY = 300.0  # seconds
PEERS_GRACE = 600.0  # seconds after the close of a shared survey before its author is told
BATCH = 50  # deliveries read at a time
# Direct chats sent to at once (each its own Megolm session): enough for the pace to be what
# limits a delivery (one takes a few hundred ms: a chat opened, keys claimed, a message), never
# fewer than 4 nor more than 32.
MIN_AT_ONCE, MAX_AT_ONCE = 4, 32


def at_once(pace_per_second: float) -> int:
    """How many direct chats a delivery sends to at once for ``surveys.pace_per_second``."""
    return max(MIN_AT_ONCE, min(MAX_AT_ONCE, math.ceil(pace_per_second)))


DIMENSIONS = ("territory", "profession")


class Surveys(Capability):
    name = "surveys"
    commands = ("bot.commands.surveys",)

    def __init__(self, core: Core, federation: Federation):
        super().__init__(core)
        self.federation = federation  # the directory rooms the regions read each other's in
        self.surveys = SurveyStore(core.store)
        self.members = VettingStore(core.store)
        self.pacer = Pacer(self.config.surveys.pace_per_second)
        # matplotlib's configuration and font cache, in the data directory (as the reports').
        self.painter = Painter(core.data_dir / "matplotlib")
        self.jobs = {
            DELIVER_JOB: self.deliver,
            REMIND_JOB: self.remind,
            CLOSE_JOB: self.close,
            PEERS_JOB: self.look_at_peers,
        }
        self.job_pools = {PEERS_JOB: 1}
        self.events = {MemberRemoved: self.on_removed}
        # A person's answers move their response on: one message at a time (different
        # people's side by side).
        self.lock = KeyedLocks()

    def configure(self, config: Any) -> None:
        super().configure(config)
        self.pacer.rate = config.surveys.pace_per_second

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.rosters.timezone)

    async def start(self) -> None:
        if self.config.federation.peer_bots:
            await self.core.store.ensure_job(PEERS_JOB, {}, at=self.core.clock())

    async def reloaded(self) -> None:
        await self.start()  # peers declared since
        self.core.wake_jobs()

    async def on_removed(self, event: MemberRemoved) -> None:
        """A revoked member is sent no more surveys; a forgotten one leaves no trace here (a
        named survey's answers stay, without their name)."""
        await self.surveys.forget(event.user_id, erase=event.why == "forgotten")

    # --- writing a survey -------------------------------------------------------------------------

    def offer(self, user: str, locale: str) -> Offer:
        """What ``user`` may survey: the territories they animate (every one for an admin),
        the region's professions."""
        territories = tuple(
            (x.id, x.name) for x in animated_by(user, self.config.network, self.config.admins)
        )
        professions = offered(self.config.vetting.professions) or DEFAULT_PROFESSIONS
        now = self.core.clock()
        return Offer(
            territories=territories,
            professions=tuple((p.id, p.label(locale)) for p in professions),
            parse_day=lambda text: parse_day(text, self.tz, now),
            end_of=lambda day: day_start(day + dt.timedelta(days=1), self.tz),
            now=now,
        )

    async def create(self, user: str, room_id: str, locale: str) -> str:
        """``!sondage créer``: the guided conversation begins (or, if one is in progress, its
        question is asked again)."""
        current = await self.surveys.draft(user)
        if current is not None:
            _, step, data, draft_locale, _ = current
            await self.surveys.save_draft(user, room_id, step, data, draft_locale, None)
            draft = Draft(step, data, draft_locale)
            return (
                t("survey.draft.resumed", locale)
                + "\n\n"
                + question_prompt(draft, self.offer(user, draft_locale))
            )
        if not self.offer(user, locale).territories:
            raise PermissionDenied("survey.no_territory")
        await self.surveys.save_draft(user, room_id, "title", {}, locale, effects.current_event())
        return start(locale, self.config.commands.prefix)

    async def cancel(self, user: str, locale: str) -> str:
        if not await self.surveys.drop_draft(user):
            raise NotFound("survey.no_draft")
        return t("survey.draft.abandoned", locale)

    async def converse(self, sender: str, room_id: str, text: str) -> str | None:
        """A plain message in a direct chat: the next step of a survey being written there,
        else an answer to the survey the person is answering; None if neither."""
        async with self.lock(sender):
            opened, earlier = await self.core.store.earlier_outcome("survey.opened")
            if opened:  # this answer opened a survey before a crash: said again, not twice
                locale = await self.core.language(sender)
                return self._opened_text(earlier["id"], earlier["n"], earlier["closes"], locale)
            current = await self.surveys.draft(sender)
            if current is not None and current[0] == room_id:
                return await self._draft_turn(sender, room_id, text, current)
            turn = await self.surveys.turn(sender)
            if turn is not None:
                return await self._answer_turn(sender, text, turn.survey_id)
        return None

    async def _draft_turn(
        self,
        sender: str,
        room_id: str,
        text: str,
        current: tuple[str, str, dict[str, Any], str, str | None],
    ) -> str:
        _, step, data, locale, last_event = current
        event = effects.current_event()
        draft = Draft(step, data, locale)
        offer = self.offer(sender, locale)
        if event is not None and event == last_event:
            return question_prompt(draft, offer)  # applied before a crash: asked again
        reply = draft_answer(draft, text, offer)
        if reply.draft is not None:
            await self.surveys.save_draft(
                sender, room_id, reply.draft.step, reply.draft.data, locale, event
            )
            return reply.text
        if reply.submit is None:
            await self.surveys.drop_draft(sender)
            return reply.text
        return await self.launch(sender, reply.submit, locale)

    async def launch(self, author: str, data: dict[str, Any], locale: str) -> str:
        """A confirmed survey opened: written with its deliveries and jobs (``data`` as the
        conversation gathers it: title, questions, territories, professions, anonymous,
        closes); what to answer its author."""
        audience = await self.audience(data["territories"], data["professions"])
        if not audience:
            await self.surveys.drop_draft(author)
            return t("survey.nobody", locale)
        now = self.core.clock()
        closes = float(data["closes"])
        remind_at = closes - self.config.surveys.remind_before
        jobs: list[tuple[str, dict[str, Any], float | None]] = [
            (DELIVER_JOB, {}, None),
            (CLOSE_JOB, {}, closes),
        ]
        if remind_at > now:
            jobs.append((REMIND_JOB, {}, remind_at))
        survey_id = await self.surveys.open_survey(
            author, data, secrets.token_hex(32), audience, jobs, outcome="survey.opened"
        )
        assert survey_id is not None
        await self.core.store.audit(author, "survey.open", "ok", detail=f"n°{survey_id}")
        self.core.wake_jobs()
        return self._opened_text(survey_id, len(audience), closes, locale)

    def _opened_text(self, survey_id: int, n: int, closes: float, locale: str) -> str:
        return t(
            "survey.opened",
            locale,
            n=n,
            id=survey_id,
            day=day_text(closes - 1, locale, self.tz),
            prefix=self.config.commands.prefix,
        )

    async def audience(self, territories: list[str], professions: list[str]) -> list[str]:
        """Active members of those territories (and those below them) and professions (all
        when none is named)."""
        network = self.config.network
        places = {x.id for top in territories for x in network.subtree(top)}
        bot = self.core.gateway.user_id
        return sorted(
            m.user_id
            for m in await self.members.member_infos()
            if m.territory in places
            and (not professions or m.profession in professions)
            and m.user_id != bot
        )

    # --- delivering ---------------------------------------------------------------------------------

    async def deliver(self, payload: dict[str, Any]) -> None:
        """The job: every person not sent the survey yet gets it in their direct chat (the
        first question with it, unless they are answering another survey now), paced; each
        marked sent after its send, whose transaction id a re-run repeats."""
        survey = await self.surveys.get(int(payload["survey"]))
        if survey is None or not survey.open:
            return
        gate = asyncio.Semaphore(at_once(self.config.surveys.pace_per_second))

        async def one(user: str) -> None:
            async with gate:
                await self.pacer.wait()
                await self._deliver_to(survey, user)

        while batch := await self.surveys.pending_deliveries(survey.id, BATCH):
            await asyncio.gather(*(one(user) for user in batch))

    async def _deliver_to(self, survey: SurveyRow, user: str) -> None:
        locale = await self.core.language(user)
        busy = await self.surveys.turn(user)
        prefix = self.config.commands.prefix
        text = t(
            "survey.invitation",
            locale,
            id=survey.id,
            title=survey.title,
            n=len(survey.questions),
            day=day_text(survey.closes - 1, locale, self.tz),
            privacy=t("survey.is_anonymous" if survey.anonymous else "survey.is_named", locale),
        )
        if busy is None or busy.survey_id == survey.id:
            text += "\n\n" + self._ask(survey, 0, locale)
        else:
            text += "\n\n" + t("survey.later", locale, prefix=prefix, id=survey.id)
        room_id = await self.core.direct.room_for(user)
        await self.core.gateway.send(
            room_id, notice(text), txn=effects.stable_key("survey-invite", str(survey.id), user)
        )
        await self.surveys.delivered(survey.id, user, turn=busy is None)

    def _ask(self, survey: SurveyRow, index: int, locale: str) -> str:
        question = Question.from_json(survey.questions[index])
        return ask(question, index + 1, len(survey.questions), locale)

    async def remind(self, payload: dict[str, Any]) -> None:
        """The job, before the close: those who have not finished are reminded once (paced;
        who finished is found by recomputing their token, not kept by name)."""
        survey = await self.surveys.get(int(payload["survey"]))
        if survey is None or not survey.open or survey.secret is None:
            return
        for user in await self.surveys.recipients(survey.id):
            response = await self.surveys.response(survey.id, token(survey.secret, user))
            if response is not None and response.finished:
                continue
            await self.pacer.wait()
            locale = await self.core.language(user)
            room_id = await self.core.direct.room_for(user)
            text = t(
                "survey.reminder",
                locale,
                id=survey.id,
                title=survey.title,
                day=day_text(survey.closes - 1, locale, self.tz),
                prefix=self.config.commands.prefix,
            )
            await self.core.gateway.send(
                room_id,
                notice(text),
                txn=effects.stable_key("survey-remind", str(survey.id), user),
            )

    # --- answering ----------------------------------------------------------------------------------

    async def _answer_turn(self, user: str, text: str, survey_id: int) -> str:
        locale = await self.core.language(user)
        survey = await self.surveys.get(survey_id)
        turn = await self.surveys.turn(user)
        if survey is None or not survey.open or survey.secret is None or turn is None:
            await self.surveys.end_turn(user)
            return t("survey.closed", locale, id=survey_id)
        mine = token(survey.secret, user)
        response = await self.surveys.response(survey.id, mine)
        if response is None:
            member = await self.members.member_info(user)
            await self.surveys.begin_response(
                survey.id,
                mine,
                member.territory if member and member.territory else OTHER,
                member.profession if member and member.profession else OTHER,
                None if survey.anonymous else user,
            )
            response = await self.surveys.response(survey.id, mine)
            assert response is not None
        event = effects.current_event()
        if event is not None and event == turn.last_event:  # applied before a crash
            if response.finished and turn.editing is None:
                return self._thanks(survey, locale)
            index = turn.editing if turn.editing is not None else response.position
            return self._ask(survey, index, locale)
        index = turn.editing if turn.editing is not None else response.position
        if response.finished and turn.editing is None:
            await self.surveys.end_turn(user)
            return self._thanks(survey, locale)
        question = Question.from_json(survey.questions[index])
        try:
            value = read_answer(question, text, locale)
        except BadAnswer as exc:
            return (
                t("survey.problem.again", locale, problem=exc.text)
                + "\n"
                + self._ask(survey, index, locale)
            )
        answered = set(await self.surveys.answers_of(survey.id, mine)) | {index}
        left = [i for i in range(len(survey.questions)) if i not in answered]
        finished = not left
        await self.surveys.answer(
            survey.id,
            mine,
            index,
            value,
            position=left[0] if left else len(survey.questions),
            finished=finished,
            user_id=user,
            editing=None,
            last_event=event,
        )
        said = ""
        if turn.editing is not None:
            said = t("survey.changed", locale, q=index + 1, value=shown_answer(question, value))
        if finished:
            await self.surveys.end_turn(user)
            return (said + "\n\n" if said else "") + self._thanks(survey, locale)
        return (said + "\n\n" if said else "") + self._ask(survey, left[0], locale)

    def _thanks(self, survey: SurveyRow, locale: str) -> str:
        return t(
            "survey.thanks",
            locale,
            id=survey.id,
            day=day_text(survey.closes - 1, locale, self.tz),
            prefix=self.config.commands.prefix,
        )

    async def _mine(self, user: str, n: int | None) -> SurveyRow:
        """The open survey a person means: number ``n`` (delivered to them), else the one they
        are answering, else the only one open for them."""
        if n is not None:
            survey = await self.surveys.get(n)
            if survey is None or not await self.surveys.is_recipient(n, user):
                raise NotFound("survey.not_yours", id=n)
            if not survey.open:
                raise Conflict("survey.closed", id=n)
            return survey
        turn = await self.surveys.turn(user)
        if turn is not None and (survey := await self.surveys.get(turn.survey_id)) and survey.open:
            return survey
        surveys = await self.surveys.open_for(user)
        if not surveys:
            raise NotFound("survey.none_open")
        if len(surveys) > 1:
            raise BadArgument("survey.which", choices=", ".join(f"n°{s.id}" for s in surveys))
        return surveys[0]

    async def resume(self, user: str, n: int | None, locale: str) -> str:
        """``!sondage reprendre [n]``: the next question not answered yet."""
        async with self.lock(user):
            survey = await self._mine(user, n)
            assert survey.secret is not None
            response = await self.surveys.response(survey.id, token(survey.secret, user))
            if response is not None and response.finished:
                return self._thanks(survey, locale)
            await self.surveys.set_turn(user, survey.id, None, effects.current_event())
            position = response.position if response else 0
            return (
                t("survey.resumed", locale, id=survey.id, title=survey.title)
                + "\n\n"
                + (self._ask(survey, position, locale))
            )

    async def change(self, user: str, q: int, n: int | None, locale: str) -> str:
        """``!sondage modifier <question> [n]``: that question asked again; the next message
        replaces the answer."""
        async with self.lock(user):
            survey = await self._mine(user, n)
            if not 1 <= q <= len(survey.questions):
                raise BadArgument("survey.no_question", q=q, most=len(survey.questions))
            assert survey.secret is not None
            answers = await self.surveys.answers_of(survey.id, token(survey.secret, user))
            await self.surveys.set_turn(user, survey.id, q - 1, effects.current_event())
            question = Question.from_json(survey.questions[q - 1])
            before = answers.get(q - 1)
            said = (
                t("survey.your_answer", locale, value=shown_answer(question, before))
                if before is not None
                else t("survey.not_answered", locale)
            )
            return said + "\n\n" + self._ask(survey, q - 1, locale)

    # --- closing, results ---------------------------------------------------------------------------

    async def close(self, payload: dict[str, Any]) -> Again | None:
        """The job at the close: the survey closed (its secret erased, small groups written
        down as "other" only), then its author told the results (for a survey shared with the
        peers, a while later: theirs close at the same time and send their totals back)."""
        survey_id = int(payload["survey"])
        survey = await self.surveys.get(survey_id)
        if survey is None:
            return None
        if survey.open:
            territories, professions = await self.surveys.groups(survey_id)
            minimum = self.minimum(survey)
            await self.surveys.close(
                survey_id,
                {
                    "territory": coarsened(territories, minimum),
                    "profession": coarsened(professions, minimum),
                },
            )
            if survey.shared:
                return Again(self.core.clock() + PEERS_GRACE)
        if survey.origin is not None:
            await self.send_back(survey_id)
            return None
        if not survey.author.startswith("@"):
            return None  # its author forgotten: the admins read the results with the command
        locale = await self.core.language(survey.author)
        text = await self.results_text(survey_id, locale)
        room_id = await self.core.direct.room_for(survey.author)
        await self.core.gateway.send(room_id, notice(text))
        await self.send_files(room_id, survey_id, locale)
        return None

    async def results(self, user: str, n: int, room_id: str, reply_to: str, locale: str) -> str:
        """``!sondage résultats <n>``: for its author and the admins, in aggregate, with the
        picture and the CSV."""
        await self._authored(user, n)
        await self.send_files(room_id, n, locale, reply_to=reply_to)
        return await self.results_text(n, locale)

    async def publish(self, user: str, n: int, room: str, locale: str) -> str:
        """``!sondage publier <n> <territoire.salon>``: the results and their picture posted
        in a room of the network whose territory the author animates."""
        await self._authored(user, n)
        key = room.strip()
        managed = {r.key: r for r in await self.core.store.managed_rooms(include_archived=False)}
        found = managed.get(key)
        if found is None:
            raise NotFound("survey.unknown_room", room=key[:60] or "—")
        mine = {x.id for x in animated_by(user, self.config.network, self.config.admins)}
        if found.territory not in mine:
            raise PermissionDenied("survey.not_your_room")
        region = self.config.locale  # a room's readers: the region's language
        await self.core.gateway.send(found.room_id, notice(await self.results_text(n, region)))
        await self.send_files(found.room_id, n, region, csv=False)
        await self.core.store.audit(user, "survey.publish", "ok", detail=f"n°{n} {key}")
        return t("survey.published", locale, id=n, room=self.config.network.name_of(key))

    async def _authored(self, user: str, n: int) -> SurveyRow:
        survey = await self.surveys.get(n)
        if survey is None:
            raise NotFound("survey.unknown", id=n)
        if user != survey.author and user not in self.config.admins:
            raise PermissionDenied("survey.not_author", id=n)
        return survey

    async def send_files(
        self, room_id: str, n: int, locale: str, *, reply_to: str | None = None, csv: bool = True
    ) -> None:
        """The results as a picture (drawn in a worker process) and a CSV, both encrypted
        attachments in an encrypted room."""
        survey = await self.surveys.get(n)
        assert survey is not None
        questions = [Question.from_json(q) for q in survey.questions]
        (sent, _, finished), results = await self.all_results(survey)
        subtitle = t(
            "survey.chart.subtitle",
            locale,
            status=t("survey.status.open" if survey.open else "survey.status.closed", locale),
            day=day_text(survey.closes - 1, locale, self.tz),
            finished=finished,
            n=sent,
        )
        title = t("survey.summary.title", locale, title=survey.title)
        png = await self.painter.paint(chart(title, subtitle, questions, results, locale))
        width, height = size(png)
        gateway = self.core.gateway
        await gateway.send_file(
            room_id,
            png,
            name=f"sondage-{n}.png",
            mimetype="image/png",
            msgtype="m.image",
            info={"w": width, "h": height},
            reply_to=reply_to,
        )
        if csv:
            sheet = csv_results(
                questions, results, lambda d, g: self._group_label(d, g, locale), locale
            )
            await gateway.send_file(
                room_id,
                sheet.encode(),
                name=f"sondage-{n}.csv",
                mimetype="text/csv",
                reply_to=reply_to,
            )

    def minimum(self, survey: SurveyRow) -> int:
        """The smallest group shown: this region's, or a sharing peer's if larger."""
        return max(self.config.surveys.min_group, survey.min_group or 0)

    async def tallies(self, survey: SurveyRow) -> list[QuestionResult]:
        answers = await self.surveys.all_answers(survey.id)
        minimum = self.minimum(survey)
        out = []
        for index, raw in enumerate(survey.questions):
            question = Question.from_json(raw)
            rows = [
                (value, {"territory": territory, "profession": profession})
                for q, value, territory, profession, _ in answers
                if q == index
            ]
            if question.kind == "text" and not survey.anonymous:
                named: list[tuple[str, dict[str, str]]] = [
                    (f"{value} — {who}", {}) for q, value, _, _, who in answers if q == index
                ]
                out.append(tally("text", named, minimum))
            else:
                out.append(tally(question.kind, rows, minimum))
        return out

    async def results_text(self, survey_id: int, locale: str) -> str:
        survey = await self.surveys.get(survey_id)
        assert survey is not None
        (sent, began, finished), results = await self.all_results(survey)
        lines = [
            t(
                "survey.results.head",
                locale,
                id=survey.id,
                title=survey.title,
                status=t("survey.status.open" if survey.open else "survey.status.closed", locale),
                day=day_text(survey.closes - 1, locale, self.tz),
            ),
            t("survey.results.counts", locale, n=sent, began=began, finished=finished),
        ]
        for index, (raw, result) in enumerate(zip(survey.questions, results, strict=True), 1):
            question = Question.from_json(raw)
            lines.append("")
            lines.append(
                t("survey.results.question", locale, q=index, text=question.text, n=result.answered)
            )
            lines.extend(self._result_lines(question, result, locale))
        return "\n".join(lines)

    def _value_label(self, question: Question, value: str) -> str:
        return shown_answer(question, value)

    def _group_label(self, dimension: str, group: str, locale: str) -> str:
        if group == OTHER:
            return t("survey.other", locale)
        if dimension == "territory":
            return self.config.network.name_of(group)
        found = next((p for p in DEFAULT_PROFESSIONS if p.id == group), None)
        return found.label(locale) if found else group

    def _result_lines(self, question: Question, result: QuestionResult, locale: str) -> list[str]:
        if question.kind == "text":
            return [f"• « {text} »" for text in result.texts]
        values = (
            [str(i) for i in range(1, len(question.options) + 1)]
            if question.kind == "choice"
            else [str(i) for i in range(1, 6)]
        )
        lines = [f"• {self._value_label(question, v)} : {result.counts.get(v, 0)}" for v in values]
        if question.kind == "scale" and result.mean is not None:
            lines.append(t("survey.results.mean", locale, mean=f"{result.mean:.1f}"))
        for dimension in DIMENSIONS:
            groups = result.groups.get(dimension, {})
            if not groups:
                continue
            parts = []
            for group in sorted(groups, key=lambda g: (g == OTHER, g)):
                counts = groups[group]
                shown = ", ".join(
                    f"{self._value_label(question, v)} {counts.get(v, 0)}" for v in values
                )
                parts.append(f"{self._group_label(dimension, group, locale)} ({shown})")
            key = (
                "survey.results.by_territory"
                if dimension == "territory"
                else "survey.results.by_profession"
            )
            lines.append(t(key, locale, groups=" · ".join(parts)))
        return lines

    # --- across regions -----------------------------------------------------------------------------

    async def share(self, user: str, n: int, locale: str) -> str:
        """``!sondage partager <n>``: an anonymous survey offered to the peer regions (a state
        event of this region's directory room, which their bots read); each delivers it to
        its own members and sends back only aggregates."""
        survey = await self._authored(user, n)
        if survey.origin is not None:
            raise Conflict("survey.not_ours", id=n)
        if not survey.anonymous:
            raise Conflict("survey.share_named", id=n)
        if not survey.open:
            raise Conflict("survey.closed", id=n)
        if not self.config.federation.peer_bots or not self.federation.directory.room_id:
            raise Conflict("survey.no_peers")
        content = offer_content(
            survey.id,
            survey.title,
            list(survey.questions),
            survey.audience.get("professions", []),
            survey.closes,
            self.config.surveys.min_group,
        )
        await self.core.gateway.put_state(
            self.federation.directory.room_id, OFFER, content, offer_key(survey.id)
        )
        await self.surveys.mark_shared(survey.id)
        await self.core.store.audit(user, "survey.share", "ok", detail=f"n°{n}")
        peers = ", ".join(server_of(b) for b in self.config.federation.peer_bots)
        return t("survey.shared", locale, id=n, peers=peers)

    async def _peer_state(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(peer bot, the state of its directory room) for each peer readable now."""
        directory = self.federation.directory
        if not directory.peers or any(v is None for v in directory.peers.values()):
            await directory.follow_peers()
        out = []
        for bot, room_id in directory.peers.items():
            if room_id is None or bot not in self.config.federation.peer_bots:
                continue
            try:
                events: Any = await self.core.gateway.raw(
                    "GET",
                    f"/_matrix/client/v3/rooms/{path_part(room_id)}/state",
                    what="read a peer's directory",
                )
            except MatrixError as exc:
                log.info("directory of %s not readable now: %s", bot, exc)
                continue
            out.append((bot, [e for e in events if e.get("sender") == bot]))
        return out

    async def look_at_peers(self, payload: dict[str, Any]) -> Again:
        """The recurring job: surveys the peers shared, not taken yet and still open, taken
        (delivered to this region's members of their professions, closed when they close)."""
        await self.take_peer_surveys()
        return Again(self.core.clock() + PEERS_EVERY)

    async def take_peer_surveys(self) -> int:
        now = self.core.clock()
        taken = 0
        for bot, events in await self._peer_state():
            for ev in events:
                if ev.get("type") != OFFER or not str(ev.get("state_key", "")).startswith(
                    "survey:"
                ):
                    continue
                offer = read_offer(ev.get("content"))
                if offer is None or offer["closes"] <= now:
                    continue
                if await self.surveys.from_peer(bot, offer["id"]) is not None:
                    continue
                taken += await self._take(bot, offer, now)
        return taken

    async def _take(self, bot: str, offer: dict[str, Any], now: float) -> int:
        territories = [x.id for x in self.config.network.territories]
        audience = await self.audience(territories, offer["professions"])
        data = {
            "title": offer["title"],
            "questions": offer["questions"],
            "territories": territories,
            "professions": offer["professions"],
            "anonymous": True,
            "closes": offer["closes"],
            "min_group": max(offer["min_group"], self.config.surveys.min_group),
        }
        jobs: list[tuple[str, dict[str, Any], float | None]] = [
            (DELIVER_JOB, {}, None),
            (CLOSE_JOB, {}, offer["closes"]),
        ]
        if (remind_at := offer["closes"] - self.config.surveys.remind_before) > now:
            jobs.append((REMIND_JOB, {}, remind_at))
        survey_id = await self.surveys.open_survey(
            bot, data, secrets.token_hex(32), audience, jobs, outcome=None,
            origin=(bot, offer["id"]),
        )  # fmt: skip
        if survey_id is None:
            return 0
        await self.core.store.audit(
            bot, "survey.taken", "ok", detail=f"n°{survey_id} ({server_of(bot)} n°{offer['id']})"
        )
        self.core.wake_jobs()
        return 1

    async def send_back(self, survey_id: int) -> None:
        """At the close of a survey a peer shared: only its aggregates, in this region's
        directory room, for the peer's bot to read (groups merged below the larger of the two
        regions' min_group; territories by their names)."""
        survey = await self.surveys.get(survey_id)
        directory = self.federation.directory.room_id
        if survey is None or survey.origin is None or survey.remote_id is None or not directory:
            return
        results = await self.tallies(survey)
        names = {x.id: x.name for x, _ in self.config.network.walk()}
        shown = [
            QuestionResult(r.answered, r.counts, r.texts, group_names(r.groups, names))
            for r in results
        ]
        content = result_content(survey.remote_id, await self.surveys.counts(survey_id), shown)
        await self.core.gateway.put_state(
            directory, RESULT, content, result_key(server_of(survey.origin), survey.remote_id)
        )

    async def all_results(
        self, survey: SurveyRow
    ) -> tuple[tuple[int, int, int], list[QuestionResult]]:
        """This region's aggregates, with those the peers sent back for a survey it shared."""
        own = await self.tallies(survey)
        counts = await self.surveys.counts(survey.id)
        if not survey.shared:
            return counts, own
        key = result_key(self.config.homeserver.server_name, survey.id)
        minimum = self.config.surveys.min_group
        peers = []
        for _, events in await self._peer_state():
            for ev in events:
                if ev.get("type") == RESULT and ev.get("state_key") == key:
                    found = read_result(ev.get("content"), len(survey.questions), minimum)
                    if found is not None:
                        peers.append(found)
        total = tuple(sum(x) for x in zip(counts, *(c for c, _ in peers), strict=True))
        merged = [
            combined(mine, [results[i] for _, results in peers], minimum)
            for i, mine in enumerate(own)
        ]
        return (total[0], total[1], total[2]), merged
